"""Chrome Trace Event JSON: the documented fields, and the span tree rebuilt from time alone as Perfetto and
speedscope do (every child inside its parent's interval on the same thread, no B/E pairs)."""

from __future__ import annotations

import pytest
from django.test import Client

from lifecycle.export import export
from lifecycle.trace import Span, Trace
from tests.conftest import last_trace
from tests.export.helpers import chrome_doc, expected_parents, rebuilt_parents, record_concurrent

pytestmark = pytest.mark.django_db

URLS = ["/t/queries/3/", "/t/template-queries/", "/t/own-spans/", "/t/async-own-spans/", "/t/cache/", "/t/boom/",
        "/t/stream/"]
# A streamed response's queries are children of the request, not of the "streaming response" span that
# they run within: they are drawn on a thread of their own.
OVERLAPPING = {"/t/stream/"}


def recorded(url: str) -> Trace:
    response = Client(raise_request_exception=False).get(url)
    if response.streaming:
        b"".join(response.streaming_content)
    response.close()
    return last_trace()


def check_format(doc: dict, trace: Trace) -> None:
    """The Trace Event Format's fields as both importers read them."""
    assert set(doc) == {"traceEvents", "otherData"}
    assert all(isinstance(v, str) for v in doc["otherData"].values())
    events = doc["traceEvents"]
    assert {e["ph"] for e in events} == {"X", "M"}, "complete events and metadata only: no B/E pairs"
    complete = [e for e in events if e["ph"] == "X"]
    assert len(complete) == len(trace.spans)
    for event, span in zip(complete, trace.spans, strict=True):
        assert event["name"] == span.name and event["cat"] == span.kind
        assert event["ts"] >= 0 and event["dur"] >= 0
        assert isinstance(event["pid"], int) and isinstance(event["tid"], int)
        assert event["args"]["span_id"] == span.id and event["args"]["parent_id"] == span.parent_id
        assert {k: v for k, v in event["args"].items() if k not in ("span_id", "parent_id")} == span.attrs
    meta = [e for e in events if e["ph"] == "M"]
    assert [e["name"] for e in meta if e["name"] == "process_name"] == ["process_name"]
    named = {e["tid"] for e in meta if e["name"] == "thread_name" and e["args"]["name"]}
    assert named == {e["tid"] for e in complete}, "every thread is named"


@pytest.mark.parametrize("url", URLS)
def test_a_recorded_request_opens_with_the_same_tree(url):
    trace = recorded(url)
    data = export(trace, "chrome")
    for exact in (True, False):  # Perfetto reads the numbers' text, speedscope doubles
        doc = chrome_doc(data, exact=exact)
        check_format(doc, trace)
        rebuilt = rebuilt_parents(doc)
        assert rebuilt == expected_parents(doc)
    tids = {e["tid"] for e in doc["traceEvents"] if e["ph"] == "X"}
    if url in OVERLAPPING:
        assert len(tids) == 2
    else:
        assert tids == {1}, "a request that ran one thing at a time is one thread"
        assert rebuilt == {s.id: s.parent_id for s in trace.spans}


def test_the_process_is_named_after_the_request():
    trace = recorded("/t/queries/2/")
    doc = chrome_doc(export(trace, "chrome"))
    names = {e["name"]: e["args"].get("name") for e in doc["traceEvents"] if e["ph"] == "M" and e["tid"] == 1}
    assert names["process_name"] == f"GET /t/queries/2/ (trace {trace.id})"
    assert names["thread_name"] == "request"
    assert doc["otherData"]["trace_id"] == trace.id and doc["otherData"]["status"] == "200"


def test_concurrent_siblings_are_drawn_on_threads_of_their_own():
    trace = record_concurrent()
    left, right = (next(s for s in trace.spans if s.name == n) for n in ("left", "right"))
    assert left.start_ns < right.start_ns < left.start_ns + left.duration_ns, "the recording overlaps"
    data = export(trace, "chrome")
    for exact in (True, False):
        doc = chrome_doc(data, exact=exact)
        check_format(doc, trace)
        assert rebuilt_parents(doc) == expected_parents(doc)
    tid = {e["args"]["span_id"]: e["tid"] for e in doc["traceEvents"] if e["ph"] == "X"}
    assert tid[left.id] != tid[right.id]
    for name in ("left inner", "right inner"):  # children follow their parent's thread
        inner = next(s for s in trace.spans if s.name == name)
        assert tid[inner.id] == tid[inner.parent_id]
    thread_names = {e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "thread_name"}
    assert thread_names == {"request", "concurrent 1"}


def test_odd_timings_still_nest():
    """A child recorded past its parent's end, a zero-length exception at its parent's very end, a span
    never closed, siblings touching: each is kept inside its parent, on a thread where it nests."""
    spans = [
        Span(0, None, "request", "GET /", 0, 10_000, {}),
        Span(1, 0, "view", "v", 1_000, 5_000, {}),
        Span(2, 1, "sql", "late", 5_500, 2_000, {"sql": "SELECT 1"}),      # ends at 7.5 µs, its parent at 6
        Span(3, 1, "exception", "ValueError", 6_000, 0, {"type": "ValueError"}),  # at the parent's end
        Span(4, 0, "custom", "open", 6_000, None, {}),                     # never closed
        Span(5, 0, "custom", "a", 7_000, 1_000, {}),
        Span(6, 0, "custom", "a", 8_000, 1_000, {}),                       # starts where its sibling ends
        Span(7, 0, "custom", "zero", 0, 0, {}),                            # zero-length at the root's start
    ]
    trace = Trace("abc123", "2026-01-01T00:00:00.000000Z", 10_000, {"method": "GET", "path": "/"}, None, None,
                  spans)
    data = export(trace, "chrome")
    for exact in (True, False):
        doc = chrome_doc(data, exact=exact)
        assert rebuilt_parents(doc) == expected_parents(doc)
    events = {e["args"]["span_id"]: e for e in doc["traceEvents"] if e["ph"] == "X"}
    end = {i: e["ts"] + e["dur"] for i, e in events.items()}
    assert end[2] < end[1] and end[3] < end[1], "kept strictly inside the view"
    assert events[4]["dur"] > 0 and end[4] < end[0]
    assert events[5]["tid"] != events[6]["tid"] or end[5] < events[6]["ts"]


def test_an_empty_span_list_is_still_a_file():
    trace = Trace("e1", "2026-01-01T00:00:00.000000Z", None, {"method": None, "path": None}, None, None, [])
    doc = chrome_doc(export(trace, "chrome"))
    assert [e["ph"] for e in doc["traceEvents"]] == ["M", "M", "M"]
