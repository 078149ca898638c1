"""lifecycle.span(): the site's own code as spans, nested like every other span."""

from __future__ import annotations

import inspect

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

import lifecycle
from lifecycle.recorder import Recording
from tests.conftest import assert_nested, last_trace
from tests.testapp import views


def test_spans_of_the_sites_code_nest_with_their_queries(db):
    response = Client().get("/t/own-spans/")
    assert response.status_code == 200 and b"<p>42 mail-" in response.content
    trace = last_trace()
    assert_nested(trace)
    by_name = {s.name: s for s in trace.spans}
    checkout, price = by_name["checkout"], by_name["price cart"]
    view = next(s for s in trace.spans if s.kind == "view")
    assert checkout.kind == "custom" and checkout.parent_id == view.id
    assert price.kind == "pricing" and price.parent_id == checkout.id and price.attrs == {"items": 3}
    (query,) = [s for s in trace.spans if s.kind == "sql" and s.parent_id == price.id]
    assert query.attrs["params"] == ["'price'"] or query.attrs["params"] == ["price"]
    # Attributes set on entry and later with .set(); a secret-named one is redacted.
    assert checkout.attrs["order_id"] == 7 and checkout.attrs["total"] == 42
    assert checkout.attrs["api_token"] == "********"
    assert "tok-SECRET-1234" not in trace.to_json().decode()
    # Counted per kind like the built-in kinds; a kind nobody registered has no description.
    assert trace.summary["counts"]["custom"] == 1 and trace.summary["counts"]["pricing"] == 1
    assert trace.kinds["custom"]["label"] == "custom" and "pricing" not in trace.kinds


def test_async_spans_nest_in_async_views(db):
    response = async_to_sync(AsyncClient().get)("/t/async-own-spans/")
    assert response.content == b"done"
    trace = last_trace()
    assert_nested(trace)
    block = next(s for s in trace.spans if s.name == "async block")
    step = next(s for s in trace.spans if s.name == "async step")
    assert step.parent_id == block.id
    query = next(s for s in trace.spans if s.kind == "sql" and "async-step" in str(s.attrs.get("params")))
    assert query.parent_id == step.id


def test_the_decorator_keeps_the_functions_shape():
    assert views._price_cart.__name__ == "_price_cart"
    assert inspect.iscoroutinefunction(views._async_step)
    assert not inspect.iscoroutinefunction(views._price_cart)

    def add(a: int, b: int = 2, *, c: int = 3) -> int:
        return a + b + c

    decorated = lifecycle.span("add")(add)
    assert inspect.signature(decorated) == inspect.signature(add)
    assert decorated.__wrapped__ is add and decorated.__name__ == "add"
    assert decorated(1) == 6  # outside a trace: the function, nothing recorded


def test_outside_a_trace_nothing_is_recorded_and_the_block_runs():
    ran = []
    with lifecycle.span("nobody listens") as s:
        ran.append(1)
        s.set(x=1)
    assert ran == [1]


def test_an_exception_is_recorded_on_the_span_and_propagates():
    rec = Recording("block", "test")
    rec.activate()
    try:
        with pytest.raises(KeyError):
            with lifecycle.span("lookup", key="k"):
                {}["missing"]
    finally:
        rec.deactivate()
    span = next(s for s in rec.trace.spans if s.name == "lookup")
    assert span.duration_ns is not None
    assert span.attrs["error"] == "KeyError: 'missing'"


def test_values_that_are_not_json_are_shown_by_repr():
    rec = Recording("block", "test")
    rec.activate()
    try:
        with lifecycle.span("odd", obj=object.__new__(Recording), items=[1, 2]):
            pass
    finally:
        rec.deactivate()
    span = next(s for s in rec.trace.spans if s.name == "odd")
    assert span.attrs["items"] == "[1, 2]"
    assert span.attrs["obj"].startswith("<lifecycle.recorder.Recording")


def test_one_span_object_used_twice_nests_correctly():
    rec = Recording("block", "test")
    rec.activate()
    step = lifecycle.span("step")
    try:
        with step:
            with step:
                pass
    finally:
        rec.deactivate()
    outer, inner = [s for s in rec.trace.spans if s.name == "step"]
    assert inner.parent_id == outer.id and outer.duration_ns >= inner.duration_ns
