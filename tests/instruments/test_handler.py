from __future__ import annotations

from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import AsyncClient, Client, SimpleTestCase

from tests.conftest import assert_nested, last_trace


def test_every_middleware_layer_is_a_nested_span(db):
    Client().get("/t/queries/1/")
    trace = last_trace()
    layers = trace.spans_of("middleware")
    expected = [path for path in settings.MIDDLEWARE[1:]] + ["django handler"]
    assert [s.name for s in layers] == expected
    # Each layer is the parent of the next one, as in Django's own chain.
    assert layers[0].parent_id == 0
    for outer, inner in zip(layers, layers[1:], strict=False):
        assert inner.parent_id == outer.id
        assert inner.duration_ns <= outer.duration_ns
        assert outer.attrs["before_ns"] + inner.duration_ns + outer.attrs["after_ns"] == outer.duration_ns
    assert_nested(trace)


class TestUnderSimpleTestCase(SimpleTestCase):
    """SimpleTestCase swaps the connections for a failing stand-in; recording must not trip over it."""

    def test_request_without_database(self):
        response = self.client.get("/t/nested/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(last_trace().spans_of("template")), 9)


def test_resolve_and_view_spans(db):
    Client().get("/t/queries/2/")
    trace = last_trace()
    (resolve,) = trace.spans_of("resolve")
    assert resolve.attrs["route"] == "t/queries/<int:n>/"
    assert resolve.attrs["url_name"] == "t-queries"
    assert resolve.attrs["view"] == "tests.testapp.views.queries"
    assert resolve.attrs["kwargs"] == {"n": "2"}
    (view,) = trace.spans_of("view")
    assert view.name == "tests.testapp.views.queries"
    assert view.attrs["is_async"] is False
    assert resolve.parent_id == view.parent_id  # both inside Django's handler layer
    assert resolve.start_ns + resolve.duration_ns <= view.start_ns
    assert trace.resolver == {"url_name": "t-queries", "namespace": "", "route": "t/queries/<int:n>/",
                              "view": "tests.testapp.views.queries", "args": [], "kwargs": {"n": "2"}}


def test_404_from_resolution_is_a_span(db):
    Client().get("/no/such/page/")
    trace = last_trace()
    (resolve,) = trace.spans_of("resolve")
    assert resolve.attrs["error"] == "Resolver404"
    assert trace.spans_of("view") == []
    assert trace.status == 404
    assert trace.resolver is None


def test_async_view_under_asgi(db):
    response = async_to_sync(AsyncClient().get)("/t/async/")
    assert response.status_code == 200
    trace = last_trace()
    (view,) = trace.spans_of("view")
    assert view.attrs["is_async"] is True
    assert [s.name for s in trace.spans_of("middleware")][-1] == "django handler"
    assert_nested(trace)


def test_exception_from_the_view(db):
    response = Client(raise_request_exception=False).get("/t/boom/")
    assert response.status_code == 500
    trace = last_trace()
    (exc,) = trace.spans_of("exception")
    assert exc.attrs["type"] == "ValueError"
    assert exc.attrs["message"] == "deliberate test failure"
    assert exc.attrs["stack"][0][:1] == ["tests/testapp/views.py"] and exc.attrs["stack"][0][2] == "explode"
    assert exc.attrs["stack"][1][2] == "boom"
    (view,) = trace.spans_of("view")
    assert exc.parent_id == view.id
    assert trace.summary["error"] == "ValueError: deliberate test failure"
    assert trace.status == 500
