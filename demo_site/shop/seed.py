"""Load the demo catalogue (seed_data) idempotently: rows are matched on natural keys and only changed
fields are written, so a second run changes nothing and reports so."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from django.contrib.auth import get_user_model
from django.db import models, transaction

from demo_site.shop import seed_data
from demo_site.shop.models import Author, Book, Review, Tag

Outcome = Literal["created", "updated", "unchanged"]
M = TypeVar("M", bound=models.Model)


@dataclass
class SeedReport:
    outcomes: dict[str, Counter[Outcome]] = field(default_factory=dict)
    admin: str | None = None

    def count(self, label: str, outcome: Outcome) -> None:
        self.outcomes.setdefault(label, Counter())[outcome] += 1

    def lines(self) -> list[str]:
        lines = [
            f"{label}: {sum(c.values())} ({c['created']} created, {c['updated']} updated, "
            f"{c['unchanged']} unchanged)"
            for label, c in self.outcomes.items()
        ]
        if self.admin:
            lines.append(self.admin)
        return lines


def _upsert(model: type[M], lookup: dict[str, Any], values: dict[str, Any]) -> tuple[M, Outcome]:
    obj = model._default_manager.filter(**lookup).first()
    if obj is None:
        return model._default_manager.create(**lookup, **values), "created"
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if not changed:
        return obj, "unchanged"
    for name in changed:
        setattr(obj, name, values[name])
    obj.save(update_fields=changed)
    return obj, "updated"


@transaction.atomic
def seed(*, with_admin: bool = False) -> SeedReport:
    report = SeedReport()
    authors: dict[str, Author] = {}
    for name, bio in seed_data.AUTHORS.items():
        authors[name], outcome = _upsert(Author, {"name": name}, {"bio": bio})
        report.count("authors", outcome)

    tags: dict[str, Tag] = {}
    for name in seed_data.TAGS:
        tags[name], outcome = _upsert(Tag, {"name": name}, {})
        report.count("tags", outcome)

    books: dict[str, Book] = {}
    for row in seed_data.BOOKS:
        values = {"author_id": authors[row.author].pk, "published": row.published, "price": row.price}
        book, outcome = _upsert(Book, {"title": row.title}, values)
        wanted = {tags[name].pk for name in row.tags}
        if set(book.tags.values_list("pk", flat=True)) != wanted:
            book.tags.set(wanted)
            outcome = "created" if outcome == "created" else "updated"
        books[row.title] = book
        report.count("books", outcome)

    for review in seed_data.REVIEWS:
        lookup = {"book": books[review.book], "reviewer": review.reviewer}
        _, outcome = _upsert(Review, lookup, {"rating": review.rating, "text": review.text})
        report.count("reviews", outcome)

    if with_admin:
        report.admin = _ensure_admin()
    return report


def _ensure_admin() -> str:
    user_model = get_user_model()
    if user_model._default_manager.filter(username="admin").exists():
        return "admin user: already exists, left as it is"
    user_model._default_manager.create_superuser("admin", "admin@example.com", "admin")
    return "admin user: created (username admin, password admin)"
