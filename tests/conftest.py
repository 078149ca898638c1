"""Shared fixtures: seeded demo data, a clean recent-trace store, and helpers to read the last trace."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command

from lifecycle import store
from lifecycle.trace import Trace


def pytest_report_header(config):
    url = os.environ.get("DATABASE_URL", "")
    backend = "PostgreSQL" if url.startswith(("postgres://", "postgresql://")) else "SQLite"
    return f"lifecycle: database backend {backend}"


def pytest_collection_modifyitems(config, items):
    # Browser tests last: they are the slowest, and Playwright's loop must not overlap other tests.
    items.sort(key=lambda item: "tests/browser/" in str(item.path).replace("\\", "/"))


@pytest.fixture(autouse=True)
def _clean_store():
    store.clear()
    yield
    store.clear()


@pytest.fixture
def debug_on(settings):
    """DEBUG on, as in development (the test runner turns it off): lifecycle records, and the default access
    rule lets a developer from INTERNAL_IPS in. The store is emptied around every test (``_clean_store``)."""
    settings.DEBUG = True


@pytest.fixture
def seeded(db):
    """The demo bookshop data (seed_demo), for tests that request demo pages."""
    call_command("seed_demo", verbosity=0)


# Every demo page; "<book>" stands for the first book's primary key (they differ across databases).
DEMO_PAGES = ["/", "/books/", "/books/fixed/", "/books/<book>/", "/async/", "/slow/?ms=1", "/slow/async/?ms=1",
              "/error/", "/api/books/", "/cached/", "/account/login/", "/stream/", "/live/",
              "/no/such/page/"]


def page_url(path: str) -> str:
    if "<book>" in path:
        from demo_site.shop.models import Book

        path = path.replace("<book>", str(Book.objects.order_by("pk").values_list("pk", flat=True)[0]))
    return path


def get_page(client, path: str):
    """GET a demo page as a browser would: the first book's pk filled in, streamed content consumed."""
    response = client.get(page_url(path))
    if response.streaming:
        b"".join(response.streaming_content)  # the test client closes the response at the end
    return response


def redis_url_or_skip(what: str) -> str:
    """``REDIS_URL`` (the real Redis ``.ci/run`` names); without it ``what`` is skipped, with the reason
    printed, and on CI (``CI=true``) it fails instead."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        reason = "REDIS_URL is not set (e.g. REDIS_URL=redis://127.0.0.1:6379/0)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: on CI the {what} must run")
        print(f"{reason}: {what} skipped")
        pytest.skip(f"{reason}: {what} skipped")
    return url


def last_trace() -> Trace:
    rows = store.recent(1)
    assert rows, "no trace was recorded"
    trace = store.get(rows[0]["id"])
    assert trace is not None
    return trace


def all_traces() -> list[Trace]:
    return [store.get(row["id"]) for row in store.recent()]


def assert_nested(trace: Trace) -> None:
    """Every span lies inside its parent's time range, and parents come before children."""
    by_id = {s.id: s for s in trace.spans}
    for span in trace.spans:
        assert span.duration_ns is not None, f"{span} never ended"
        if span.parent_id is None:
            continue
        parent = by_id[span.parent_id]
        assert parent.start_ns <= span.start_ns, f"{span} starts before its parent {parent}"
        assert span.start_ns + span.duration_ns <= parent.start_ns + parent.duration_ns, (
            f"{span} ends after its parent {parent}"
        )


@pytest.fixture
def seeded_tx(transactional_db):
    """Seeded demo data committed for real, for tests whose requests run in other threads."""
    call_command("seed_demo", verbosity=0)
