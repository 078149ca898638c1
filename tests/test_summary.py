"""The trace summary (lifecycle.summary.finalize): self time per kind, and what counts as an error."""

from __future__ import annotations

import pytest
from django.test import Client

from lifecycle import store
from lifecycle.summary import finalize
from lifecycle.trace import Span, Trace
from tests.conftest import last_trace


def trace_of(*spans: Span, status: int | None = 200) -> Trace:
    return Trace("0123456789abcdef", "2026-01-01T00:00:00.000000Z", spans[0].duration_ns,
                 request={"method": "GET", "path": "/"}, response={"status": status} if status else None,
                 spans=list(spans))


def test_time_per_kind_is_self_time_and_inclusive_time_stays_on_each_span():
    trace = finalize(trace_of(
        Span(0, None, "request", "GET /", 0, 100, {}),
        Span(1, 0, "middleware", "Outer", 5, 90, {}),
        Span(2, 1, "middleware", "Inner", 10, 80, {}),
        Span(3, 2, "view", "v", 20, 60, {}),
        Span(4, 3, "sql", "q", 25, 10, {"sql": "SELECT 1"}),
        Span(5, 3, "template", "t.html", 40, 30, {}),
        Span(6, 5, "sql", "q", 45, 10, {"sql": "SELECT 1"}),
    ))
    summary = trace.summary
    assert summary["self_time_ns"] == {"request": 10, "middleware": 30, "view": 20, "sql": 20, "template": 20}
    assert sum(summary["self_time_ns"].values()) == 100
    assert summary["time_ns"]["middleware"] == 170  # inclusive: the inner layer counted twice
    assert [s.duration_ns for s in trace.spans] == [100, 90, 80, 60, 10, 30, 10]


def test_overlapping_children_are_not_counted_twice():
    summary = finalize(trace_of(
        Span(0, None, "request", "GET /", 0, 100, {}),
        Span(1, 0, "view", "v", 0, 100, {}),
        Span(2, 1, "cache", "a", 10, 50, {}),
        Span(3, 1, "cache", "b", 30, 50, {}),
    )).summary
    assert summary["self_time_ns"]["view"] == 30


def test_open_spans_of_a_snapshot_run_until_the_snapshot():
    summary = finalize(trace_of(
        Span(0, None, "request", "GET /", 0, None, {}),
        Span(1, 0, "middleware", "Toolbar", 5, None, {}),
        Span(2, 1, "view", "v", 10, 20, {}),
    ), now_ns=50).summary
    assert summary["self_time_ns"] == {"request": 5, "middleware": 25, "view": 20}


@pytest.mark.sql_backends
@pytest.mark.parametrize("path", ["/books/", "/books/fixed/", "/t/nested/", "/t/cache/", "/cached/"])
def test_self_times_of_a_real_request_never_exceed_its_time(seeded, path):
    Client().get(path)
    trace = last_trace()
    self_time = trace.summary["self_time_ns"]
    assert self_time["middleware"] <= trace.duration_ns
    assert sum(self_time.values()) <= trace.duration_ns
    # The inclusive sum of nested middleware layers does exceed it: that is why the chips show self time.
    assert trace.summary["time_ns"]["middleware"] >= self_time["middleware"]


def test_an_http404_page_is_a_404_not_an_error(seeded):
    response = Client().get("/books/999999/")
    assert response.status_code == 404
    trace = last_trace()
    assert trace.spans_of("exception"), "the Http404 is still recorded as a span"
    assert trace.summary["error"] is None
    assert store.recent()[0]["error"] is None


def test_an_unhandled_exception_is_an_error(db):
    client = Client(raise_request_exception=False)
    assert client.get("/t/boom/").status_code == 500
    assert last_trace().summary["error"] == "ValueError: deliberate test failure"
    assert store.recent()[0]["error"] == "ValueError: deliberate test failure"


def test_an_exception_of_a_block_request_answered_404_is_not_an_error():
    trace = finalize(trace_of(
        Span(0, None, "block", "visit", 0, 100, {}),
        Span(1, 0, "request", "GET /a/", 0, 40, {"status": 404}),
        Span(2, 1, "exception", "Http404", 10, 0, {"type": "django.http.response.Http404", "message": "x"}),
        Span(3, 0, "request", "GET /b/", 50, 40, {"status": 500}),
        Span(4, 3, "exception", "ValueError", 60, 0, {"type": "ValueError", "message": "boom"}),
        status=None,
    ))
    assert trace.summary["error"] == "ValueError: boom"
