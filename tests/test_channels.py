"""Channels consumer traces: each connect, received frame and disconnect of a traced consumer is a trace of
kind "websocket" (lifecycle.channels), driven through channels' WebsocketCommunicator against the test
project's consumers (tests/testapp/consumers.py, routed in tests/testapp/routing.py)."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from channels.auth import UserLazyObject
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.utils.functional import empty

from lifecycle import store
from lifecycle.channels import traced
from lifecycle.live.publisher import get_publisher
from lifecycle.replay import ReplayError, replay_trace
from lifecycle.replay.guard import Guard
from lifecycle.trace import Trace
from tests.conftest import assert_nested
from tests.testapp import routing

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://testserver")
HOST = (b"host", b"testserver")


@pytest.fixture(autouse=True)
def _debug_on(settings):
    settings.DEBUG = True  # the test runner may have turned it off: lifecycle records with DEBUG on
    get_publisher().reset()


def ws_traces() -> list[Trace]:
    """The websocket traces in the store, oldest first."""
    rows = [r for r in reversed(store.recent()) if r.get("kind") == "websocket"]
    return [store.get(r["id"]) for r in rows]


async def until_traces(n: int) -> list[Trace]:
    """The websocket traces once there are ``n`` (a handler's trace ends just after its last send)."""
    for _ in range(500):
        traces = ws_traces()
        if len(traces) >= n:
            return traces
        await asyncio.sleep(0.01)
    raise AssertionError(f"expected {n} websocket traces, got {[t.spans[0].name for t in ws_traces()]}")


def comm(path: str, app=routing.application, headers=()) -> WebsocketCommunicator:
    return WebsocketCommunicator(app, path, headers=[HOST, *headers])


def root(trace: Trace):
    span = trace.spans[0]
    assert span.parent_id is None and span.kind == "consumer"
    return span


def under(trace: Trace, kind: str) -> list:
    """Spans of ``kind``, each checked to descend from the root."""
    by_id = {s.id: s for s in trace.spans}
    found = []
    for span in trace.spans:
        if span.kind != kind:
            continue
        up = span
        while up.parent_id is not None:
            up = by_id[up.parent_id]
        assert up is trace.spans[0]
        found.append(span)
    return found


async def test_sync_consumer_events_are_traces_with_their_queries(seeded):
    c = comm("/t/ws/sync/")
    ok, _ = await c.connect()
    assert ok
    await c.send_to(text_data="hello")
    assert await c.receive_from() == "3 titles"
    assert await c.receive_from() == "room: hello"  # the group message: handled, not traced
    await c.disconnect()
    connect, receive, disconnect = await until_traces(3)

    assert [t.kind for t in (connect, receive, disconnect)] == ["websocket"] * 3
    assert [root(t).name for t in (connect, receive, disconnect)] == [
        "connect /t/ws/sync/", "receive /t/ws/sync/", "disconnect /t/ws/sync/"]
    for trace in (connect, receive, disconnect):
        assert_nested(trace)
        assert root(trace).attrs["consumer"] == "tests.testapp.consumers.SyncBooks"
        assert trace.request["method"] == "WS" and trace.request["path"] == "/t/ws/sync/"
        assert len(under(trace, "sql")) >= 1, trace.spans
        assert trace.summary["error"] is None
    assert root(connect).attrs["accepted"] is True
    assert "shop_book" in under(connect, "sql")[0].attrs["sql"]
    assert root(receive).attrs["size"] == 5 and root(receive).attrs["sent"] == 1
    assert receive.request["body"] == "hello"
    (group_send,) = under(receive, "channel")
    assert group_send.name == "group_send t-room"
    assert group_send.attrs["type"] == "room.said"
    assert group_send.attrs["message"] == {"type": "room.said", "text": "hello"}
    assert [s.attrs["op"] for s in under(receive, "cache")] == ["get"]
    assert root(disconnect).attrs["code"] == 1000
    assert "shop_author" in under(disconnect, "sql")[0].attrs["sql"]

    row = store.recent()[0]
    assert row["kind"] == "websocket" and row["method"] == "WS" and row["path"] == "/t/ws/sync/"
    assert row["event"] == "disconnect" and row["view"] == "tests.testapp.consumers.SyncBooks"
    again = Trace.from_json(store.get_json(receive.id))
    assert again.kind == "websocket" and orjson.loads(store.get_json(receive.id))["kind"] == "websocket"


async def test_async_consumer_with_the_mixin(seeded):
    for app in (routing.application, routing.untraced_application):  # the mixin, with or without the router's
        store.clear()
        c = comm("/t/ws/async/", app=app)
        assert (await c.connect())[0]
        await c.send_to(text_data="hi")
        received = {await c.receive_from() for _ in range(3)}
        assert received == {"ok", "room: hi", "room: to myself"}
        await c.disconnect()
        connect, receive, disconnect = await until_traces(3)
        assert root(connect).attrs["consumer"] == "tests.testapp.consumers.AsyncBooks"
        assert len(under(connect, "sql")) == 1
        assert len(under(receive, "sql")) == 1
        # group_send sends to each member itself: one span for it, and one for the send of its own.
        assert [(s.attrs["op"], s.attrs.get("group", s.attrs.get("channel"))) for s in under(receive, "channel")] == [
            ("group_send", "t-room"), ("send", under(receive, "channel")[1].attrs["channel"])]
        assert root(disconnect).name == "disconnect /t/ws/async/"
        for trace in (connect, receive, disconnect):
            assert_nested(trace)


async def test_the_router_wrapper_leaves_what_it_was_given_alone(seeded):
    c = comm("/t/ws/sync/", app=routing.untraced_application)
    assert (await c.connect())[0]
    await c.disconnect()
    assert ws_traces() == []


async def test_the_dashboard_consumer_is_never_traced():
    c = comm("/__lifecycle__/ws/", headers=[ORIGIN])
    c.scope["client"] = ("127.0.0.1", 50000)
    ok, _ = await c.connect()
    assert ok
    hello = await c.receive_json_from()
    assert hello["type"] == "hello"
    await c.send_json_to({"type": "ping"})
    await c.disconnect()
    await asyncio.sleep(0.05)
    assert ws_traces() == [] and store.recent() == []


async def test_nothing_is_recorded_while_lifecycle_is_off(seeded):
    with override_settings(LIFECYCLE={"ENABLED": False}):
        c = comm("/t/ws/sync/")
        assert (await c.connect())[0]
        await c.send_to(text_data="hello")
        assert await c.receive_from() == "3 titles"
        await c.disconnect()
    assert store.recent() == []


async def test_ignored_paths_are_not_traced(seeded):
    with override_settings(LIFECYCLE={"IGNORE_PATHS": ("/t/ws/",)}):
        c = comm("/t/ws/sync/")
        assert (await c.connect())[0]
        await c.disconnect()
    assert store.recent() == []


async def test_a_raising_receive_is_recorded_and_raises_unchanged(seeded):
    for path in ("/t/ws/sync/", "/t/ws/async/"):
        store.clear()
        c = comm(path)
        assert (await c.connect())[0]
        await c.send_to(text_data="boom")
        with pytest.raises(ValueError, match="^boom in (async )?receive$"):
            await c.receive_output()
        _, receive = await until_traces(2)
        assert root(receive).name == f"receive {path}"
        assert root(receive).duration_ns is not None
        (exc,) = under(receive, "exception")
        assert exc.attrs["type"] == "ValueError"
        assert receive.summary["error"].startswith("ValueError: boom in")
        assert store.recent()[0]["error"] == receive.summary["error"]


async def test_a_refused_connection(seeded):
    c = comm("/t/ws/refuse/")
    ok, code = await c.connect()
    assert not ok and code == 4001
    (trace,) = await until_traces(1)
    assert root(trace).attrs["accepted"] is False and root(trace).attrs["code"] == 4001


async def test_secret_url_arguments_are_redacted(seeded):
    secret = "s3cr3t-t0ken"
    c = comm(f"/t/ws/reset/{secret}/")
    assert (await c.connect())[0]
    await c.send_to(text_data="hi")
    await c.receive_from()
    await c.disconnect()
    traces = await until_traces(3)
    for trace in traces:
        assert trace.request["path"] == "/t/ws/reset/********/"
        assert root(trace).name.endswith(" /t/ws/reset/********/")
        assert secret.encode() not in store.get_json(trace.id)
    assert secret not in str(store.recent())


async def test_the_user_is_kept_only_when_already_resolved(seeded):
    user = await get_user_model().objects.acreate(username="wsuser")
    app = traced(routing.router)
    c = comm("/t/ws/sync/", app=app)
    c.scope["user"] = user
    assert (await c.connect())[0]
    await c.disconnect()
    lazy = UserLazyObject()
    c = comm("/t/ws/sync/", app=app)
    c.scope["user"] = lazy
    assert (await c.connect())[0]
    await c.disconnect()
    first, _, second, _ = await until_traces(4)
    assert first.request["user"] == {"id": user.pk, "username": "wsuser"}
    assert second.request["user"] is None
    assert lazy._wrapped is empty  # never loaded by us


async def authors_trace() -> Trace:
    c = comm("/t/ws/sync/")
    assert (await c.connect())[0]
    await c.send_to(text_data="authors")
    await c.receive_from()
    await c.disconnect()
    return (await until_traces(3))[1]


async def test_the_n_plus_one_guard_judges_websocket_traces_only_when_asked(seeded):
    guard = Guard("websocket test")
    receive = await authors_trace()
    assert receive.summary["n_plus_one"] == 1  # the dashboard flags it
    assert guard.close() == []
    store.clear()
    with override_settings(LIFECYCLE={"N_PLUS_ONE_GUARD_KINDS": ("request", "websocket")}):
        guard = Guard("websocket test")
        await authors_trace()
        (group,) = guard.close()
    assert group["request"] == "receive /t/ws/sync/" and group["count"] == 5


async def test_a_websocket_trace_file_does_not_replay(seeded, tmp_path):
    receive = await authors_trace()
    path = receive.save(tmp_path / "receive.json")
    with pytest.raises(ReplayError, match="'websocket' trace .*only request traces replay"):
        await asyncio.to_thread(replay_trace, path)


async def test_a_watching_dashboard_adds_no_spans_of_its_own(seeded):
    """The live publisher sends the trace's own span events to the dashboards while it runs: those channel
    layer calls are lifecycle's, never spans of the trace."""
    dashboard = comm("/__lifecycle__/ws/", headers=[ORIGIN])
    dashboard.scope["client"] = ("127.0.0.1", 50000)
    assert (await dashboard.connect())[0]
    assert (await dashboard.receive_json_from())["type"] == "hello"
    c = comm("/t/ws/sync/")
    assert (await c.connect())[0]
    await c.send_to(text_data="slow")
    assert await c.receive_from(timeout=5) == "slow done"
    await c.disconnect()
    _, slow, _ = await until_traces(3)
    assert [s.kind for s in slow.spans] == ["consumer", "sql", "sql"]
    frames = []
    while not await dashboard.receive_nothing(timeout=0.2):
        frames.append(await dashboard.receive_json_from())
    await dashboard.disconnect()
    events = [e for f in frames if f["type"] == "events" for e in f["events"]]
    assert any(e["e"] == "trace.end" and e["trace_id"] == slow.id for e in events)
