"""A failing recorder never changes a response: each instrument's calls into it are inside the boundary.

Each test makes one method of ``Recording`` raise, requests a page, and expects the very response that
the same page gives with a healthy recorder (status and content), one warning per kind of failure in the
log, and a next request that is recorded again once the recorder is healthy.

The failure is injected only for the spans of the instruments checked here (SQL, templates, cache, the
middleware's request and stream spans) and for exception events. The handler instrument's own spans
(middleware layers, resolve, view) are left healthy: its boundary is tested with it.
"""

from __future__ import annotations

import logging

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import render
from django.test import AsyncClient, Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import include, path

from lifecycle import safety
from lifecycle.live.publisher import Publisher
from lifecycle.recorder import Recording
from tests.conftest import last_trace

pytestmark = [pytest.mark.urls(__name__), pytest.mark.sql_backends]

# Exception events are the handler instrument's, already inside its boundary.
OUR_KINDS = frozenset({"request", "sql", "template", "cache", "stream", "exception"})
METHODS = ("push", "pop", "begin", "end", "event")


class RecorderDown(Exception):
    pass


# -- views the test app lacks: the ORM from a sync view, the async cache API, a failing query -----------

def orm_view(request):
    User.objects.get_or_create(username="boundary")
    names = list(User.objects.filter(username__startswith="b").values_list("username", flat=True))
    return HttpResponse(",".join(sorted(names)))


async def async_cache_view(request):
    await cache.adelete("lifecycle-boundary")
    first = await cache.aget("lifecycle-boundary", "missing")
    await cache.aset("lifecycle-boundary", "value", 30)
    second = await cache.aget_or_set("lifecycle-boundary", "other")
    return HttpResponse(f"{first} {second}")


def sql_error_view(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM lifecycle_no_such_table")
    except Exception as exc:
        return HttpResponse(type(exc).__name__)
    return HttpResponse("no error")


def template_with_cache_view(request):
    cache.set("lifecycle-boundary-t", "cached", 30)
    return render(request, "testapp/page.html", {"items": [cache.get("lifecycle-boundary-t"), 2]})


urlpatterns = [
    path("b/orm/", orm_view),
    path("b/async-cache/", async_cache_view),
    path("b/sql-error/", sql_error_view),
    path("b/template-cache/", template_with_cache_view),
    path("", include("tests.urls")),
]

# Each page, and the methods of Recording its instruments call (each test checks that its failure hit).
SYNC_PAGES = {
    "/t/queries/3/": "begin end",                  # raw cursor
    "/b/orm/": "begin end",                        # ORM
    "/b/sql-error/": "begin end",                  # a query the database refuses: the host sees its error
    "/t/nested/": "push pop end",                  # extends, include, for
    "/t/template-queries/": "push pop begin end",  # queries made inside templates (stack-walk anchors)
    "/t/cache/": "push pop end",                   # sync cache API
    "/b/template-cache/": "push pop end",
    "/t/boom/": "begin end event",                 # the view raises: a 500 of the host's own
    "/t/stream/": "begin end",                     # streaming response, a query while streaming
}
ASYNC_PAGES = {
    "/t/async/": "begin end",                      # async ORM, sync_to_async
    "/t/async-tagged/x/": "begin end",             # raw cursor in a thread, async ORM
    "/b/async-cache/": "push pop end",             # async cache API
    "/t/nested/": "push pop end",                  # a sync view under ASGI
    "/t/boom/": "begin end event",
}


def _cases(pages: dict[str, str]) -> list[tuple[str, str]]:
    return [(page, method) for page, methods in pages.items() for method in methods.split()]


def _content(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


@override_settings(DEBUG=False, LIFECYCLE={"ENABLED": True})  # DEBUG's 500 page differs at each request
def get(path: str, *, is_async: bool) -> tuple[int, bytes]:
    if is_async:
        response = async_to_sync(AsyncClient(raise_request_exception=False).get)(path)
        content = b"".join(async_to_sync(_join)(response)) if response.streaming else response.content
        return response.status_code, content
    response = Client(raise_request_exception=False).get(path)
    return response.status_code, _content(response)


async def _join(response) -> list[bytes]:
    return [chunk async for chunk in response.streaming_content]


def _kind_of(args) -> str | None:
    first = args[0] if args else None
    if isinstance(first, str):
        return first  # push, begin, event: the kind of the span to open
    return getattr(first, "kind", None)  # pop, end: the span


@pytest.fixture
def fail(monkeypatch):
    """``fail(method)``: make ``Recording.<method>`` raise for the spans of our instruments."""
    calls = {"failed": 0}

    def install(method: str) -> dict:
        original = getattr(Recording, method)

        def failing(self, *args, **kwargs):
            if _kind_of(args) in OUR_KINDS:
                calls["failed"] += 1
                raise RecorderDown(f"Recording.{method} is down")
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Recording, method, failing)
        return calls

    yield install
    monkeypatch.undo()


@pytest.fixture
def fresh_boundary():
    safety.reset()
    yield
    safety.reset()


def _warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "lifecycle" and r.levelno >= logging.WARNING]


def _check(path: str, method: str, is_async: bool, fail, caplog) -> None:
    get(path, is_async=is_async)  # warm-up: sessions, caches and connections in their steady state
    expected = get(path, is_async=is_async)
    assert last_trace().request["path"] == path

    calls = fail(method)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lifecycle"):
        assert get(path, is_async=is_async) == expected
        logged = _warnings(caplog)
        assert get(path, is_async=is_async) == expected
        assert len(_warnings(caplog)) == len(logged), "a failure of the same kind was logged again"
    assert calls["failed"], f"no call to Recording.{method} failed"
    assert logged, "the recorder failed and nothing was logged"
    messages = [r.getMessage() for r in logged]
    assert len(messages) == len(set(messages)), messages
    assert all(isinstance(r.exc_info[1], RecorderDown) for r in logged), messages


def _recorded_again(path: str, is_async: bool, monkeypatch) -> None:
    monkeypatch.undo()
    get(path, is_async=is_async)
    trace = last_trace()
    assert trace.request["path"] == path
    assert all(span.duration_ns is not None for span in trace.spans)


@pytest.mark.parametrize(("path", "method"), _cases(SYNC_PAGES))
def test_sync_page_unchanged_when_the_recorder_fails(db, fresh_boundary, fail, caplog, monkeypatch, path,
                                                     method):
    _check(path, method, False, fail, caplog)
    _recorded_again(path, False, monkeypatch)


@pytest.mark.parametrize(("path", "method"), _cases(ASYNC_PAGES))
def test_async_page_unchanged_when_the_recorder_fails(db, fresh_boundary, fail, caplog, monkeypatch, path,
                                                      method):
    _check(path, method, True, fail, caplog)
    _recorded_again(path, True, monkeypatch)


@pytest.mark.parametrize(("owner", "method"), [
    (Recording, "activate"), (Recording, "deactivate"), (Publisher, "trace_started"),
    (Publisher, "span_event"), (Publisher, "trace_finished"), (Publisher, "bind_running_loop"),
])
@pytest.mark.parametrize(("path", "is_async"), [("/t/template-queries/", False), ("/t/stream/", False),
                                                ("/t/async-tagged/x/", True), ("/b/async-cache/", True)])
def test_page_unchanged_when_activation_or_publishing_fails(db, fresh_boundary, caplog, monkeypatch, owner,
                                                            method, path, is_async):
    get(path, is_async=is_async)
    expected = get(path, is_async=is_async)

    def failing(self, *args, **kwargs):
        raise RecorderDown(f"{owner.__name__}.{method} is down")

    monkeypatch.setattr(owner, method, failing)
    with caplog.at_level(logging.WARNING, logger="lifecycle"):
        assert get(path, is_async=is_async) == expected
        assert get(path, is_async=is_async) == expected
    messages = [r.getMessage() for r in _warnings(caplog)]
    assert len(messages) == len(set(messages)), messages
    _recorded_again(path, is_async, monkeypatch)


class Counted:
    """A template variable that counts how often it is rendered."""

    renders = 0

    def __str__(self) -> str:
        Counted.renders += 1
        return "counted"


def counted_view(request):
    return render(request, "testapp/page.html", {"items": [Counted(), Counted()]})


urlpatterns.insert(0, path("b/counted/", counted_view))


@pytest.mark.parametrize("method", METHODS)
def test_queries_and_renders_run_once_when_the_recorder_fails(db, fresh_boundary, fail, method):
    """Bookkeeping that fails after a query or a render never makes the host run it again."""
    client = Client(raise_request_exception=False)
    Counted.renders = 0
    assert client.get("/b/counted/").status_code == 200
    healthy_renders, Counted.renders = Counted.renders, 0
    fail(method)
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/t/queries/4/").status_code == 200
    assert len(captured.captured_queries) == 4
    assert client.get("/b/counted/").status_code == 200
    assert Counted.renders == healthy_renders
