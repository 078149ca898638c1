"""The demo site's pages, pinned by traces recorded from them (tests/traces/, data from seed_demo).

Replayed in record mode ``none``: a missing trace fails instead of being written. The recordings were
made on SQLite; on PostgreSQL (DATABASE_URL) the same files replay, their queries matched by portable
fingerprints. After an intended change to a demo page, re-record with
``pytest tests/test_demo_traces.py --lifecycle-record=all`` and review the diff of tests/traces/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from demo_site.shop.models import Book

TRACES = Path(__file__).parent / "traces"


@pytest.fixture
def first_book(seeded) -> Book:
    return Book.objects.order_by("pk").first()


def test_book_list_keeps_its_one_n_plus_one(lifecycle_replay, seeded):
    result = lifecycle_replay(TRACES / "book_list.json", record_mode="none")
    groups = result.trace.summary["duplicate_groups"]
    # The deliberate N+1 is part of what is pinned: one author query per book, no more.
    assert [(g["count"], g["n_plus_one"]) for g in groups] == [(20, True)]


def test_book_list_fixed_runs_two_queries(lifecycle_replay, seeded):
    result = lifecycle_replay(TRACES / "book_list_fixed.json", record_mode="none", query_count=True)
    assert result.trace.summary["queries"] == 2


def test_book_detail(lifecycle_replay, first_book):
    # Primary keys differ between databases (PostgreSQL sequences survive rolled-back tests): the
    # recorded /books/1/ is replayed for the first seeded book, wherever its key starts.
    lifecycle_replay(
        TRACES / "book_detail.json",
        record_mode="none",
        url=reverse("book-detail", args=[first_book.pk]),
        query_count=True,
    )


def test_api_books(lifecycle_replay, seeded):
    result = lifecycle_replay(TRACES / "api_books.json", record_mode="none", query_count=True)
    assert result.response["Content-Type"] == "application/json"
    assert result.response.json()["count"] == 5


@pytest.mark.parametrize("name", ["book_list", "book_list_fixed", "book_detail", "api_books"])
def test_traces_are_committed_requests(name):
    from lifecycle.trace import Trace

    trace = Trace.load(TRACES / f"{name}.json")
    assert trace.request["method"] == "GET" and trace.status == 200
    assert {s.attrs["vendor"] for s in trace.spans_of("sql")} == {"sqlite"}
