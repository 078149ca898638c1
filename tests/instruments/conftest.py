"""Fixtures the template-line, partial and Jinja2 tests share."""

from __future__ import annotations

import datetime

import pytest

from demo_site.shop.models import Author, Book


@pytest.fixture
def books(db):
    """Three books, each by an author of its own (tl-author-0 ...): a loop over them reads each author."""
    for i in range(3):
        author = Author.objects.create(name=f"tl-author-{i}")
        Book.objects.create(title=f"tl-book-{i}", author=author, published=datetime.date(2020, 1, 1), price=1)
