"""The handler instrument's boundary: a failing recorder for middleware, resolve and view spans (and the
exception events of the view wrapper) never changes a response, and the view runs exactly once.

The same shape as ``test_boundary.py``, whose failures are injected for the other instruments' spans.
Exception events (``Recording.event``) were inside the boundary already: ``test_boundary.py`` covers them.
"""

from __future__ import annotations

import logging

import pytest
from django.http import HttpResponse, HttpResponseRedirect
from django.test import Client
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters

from lifecycle import safety
from lifecycle.recorder import Recording
from tests.conftest import last_trace
from tests.instruments.test_boundary import RecorderDown, _kind_of, get

pytestmark = [pytest.mark.urls(__name__)]

HANDLER_KINDS = frozenset({"middleware", "resolve", "view"})
METHODS = ("push", "pop", "begin", "end")
calls = {"view": 0}


def counted(request, token: str):
    calls["view"] += 1
    return HttpResponse(f"view ran, token of {len(token)} chars")


@csrf_exempt
@sensitive_post_parameters("nickname")
def marked(request):
    calls["view"] += 1
    return HttpResponseRedirect(f"/done/?name={request.POST.get('nickname', '')[:0]}")


def raising(request):
    calls["view"] += 1
    raise ValueError("the view's own error, password=hunter2")


urlpatterns = [
    path("h/counted/<str:token>/", counted),
    path("h/marked/", marked),
    path("h/raising/", raising),
    path("", include("tests.urls")),
]

PAGES = ["/h/counted/abc123/", "/h/raising/", "/t/nested/", "/t/async/", "/no/such/page/"]


@pytest.fixture
def fail(monkeypatch):
    failed = {"n": 0}

    def install(method: str) -> dict:
        original = getattr(Recording, method)

        def failing(self, *args, **kwargs):
            if _kind_of(args) in HANDLER_KINDS:
                failed["n"] += 1
                raise RecorderDown(f"Recording.{method} is down")
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Recording, method, failing)
        return failed

    yield install
    monkeypatch.undo()


@pytest.fixture(autouse=True)
def _fresh():
    safety.reset()
    yield
    safety.reset()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("is_async", [False, True], ids=["wsgi", "asgi"])
def test_handler_spans_failing_leave_the_response_unchanged(db, fail, caplog, page, method, is_async):
    get(page, is_async=is_async)
    expected = get(page, is_async=is_async)
    failed = fail(method)
    calls["view"] = 0
    with caplog.at_level(logging.WARNING, logger="lifecycle"):
        assert get(page, is_async=is_async) == expected
    if page.startswith("/h/"):
        assert calls["view"] == 1, "the view ran once"
    if method in ("push", "begin"):
        assert failed["n"], f"no call to Recording.{method} failed"


@pytest.mark.parametrize("method", METHODS)
def test_a_marked_post_keeps_its_response_when_the_recorder_fails(db, fail, method):
    client = Client(raise_request_exception=False)
    expected = client.post("/h/marked/", {"nickname": "dora"})
    fail(method)
    calls["view"] = 0
    response = client.post("/h/marked/", {"nickname": "dora"})
    assert (response.status_code, response["Location"]) == (expected.status_code, expected["Location"])
    assert calls["view"] == 1


def test_a_failing_resolve_span_still_records_the_rest(db, monkeypatch):
    original = Recording.push

    def failing(self, kind, *args, **kwargs):
        if kind == "resolve":
            raise RecorderDown("push is down")
        return original(self, kind, *args, **kwargs)

    monkeypatch.setattr(Recording, "push", failing)
    assert Client().get("/h/counted/abc123/").status_code == 200
    trace = last_trace()
    assert not trace.spans_of("resolve") and trace.spans_of("view")
    assert "abc123" not in trace.to_json().decode(), "the secret URL argument is redacted all the same"
