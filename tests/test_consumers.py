"""The dashboard websocket, driven through the real ASGI application with channels' WebsocketCommunicator."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import orjson
import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import include, path

from demo_site.asgi import application
from lifecycle import store
from lifecycle.live import routing
from lifecycle.live.consumer import CLOSE_BAD_ORIGIN, CLOSE_FORBIDDEN
from lifecycle.live.publisher import get_publisher
from lifecycle.trace import Trace

WS = "/__lifecycle__/ws/"
ORIGIN = (b"origin", b"http://testserver")
HOST = (b"host", b"testserver")
LOCAL = ("127.0.0.1", 50000)
REMOTE = ("203.0.113.9", 50000)  # not in INTERNAL_IPS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_publisher(settings) -> Iterator[None]:
    settings.DEBUG = True  # the test runner turns it off; the default access rule needs it
    publisher = get_publisher()
    publisher.reset()
    publisher.listeners = 0
    store.clear()
    yield
    publisher.listeners = 0
    store.clear()


def communicator(client=LOCAL, headers=(ORIGIN,), app=application, host=HOST) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(app, WS, headers=[*([host] if host else []), *headers])
    if client is not None:
        comm.scope["client"] = client
    return comm


async def connected(comm: WebsocketCommunicator) -> tuple[dict, dict]:
    ok, _ = await comm.connect()
    assert ok, "the consumer refused the connection"
    hello = await comm.receive_json_from()
    backlog = await comm.receive_json_from()
    return hello, backlog


async def refused_with(comm: WebsocketCommunicator) -> int | None:
    """The close code: refusals are sent after accepting so that browsers see the code."""
    ok, code = await comm.connect()
    if not ok:
        return code
    message = await comm.receive_output()
    assert message["type"] == "websocket.close", message
    return message.get("code")


async def events_until(comm: WebsocketCommunicator, done, timeout: float = 5.0) -> list[dict]:
    """Collect live events until ``done(events)`` holds."""
    events: list[dict] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done(events):
        remaining = deadline - loop.time()
        assert remaining > 0, f"timed out; got {[(e['e'], e['trace_id']) for e in events]}"
        frame = await comm.receive_json_from(timeout=remaining)
        assert frame["type"] == "events", frame
        assert isinstance(frame["dropped_events"], int) and frame["missed_events"] == 0
        await comm.send_json_to({"type": "ack", "seq": frame["seq"]})
        events.extend(frame["events"])
    return events


def has_end(path: str):
    return lambda events: any(e["e"] == "trace.end" and e["row"]["path"] == path for e in events)


def record_sync(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 200


async def test_hello_and_backlog_of_recent_traces():
    await sync_to_async(record_sync)("/t/tagged/one/")
    await sync_to_async(record_sync)("/t/tagged/two/")
    comm = communicator()
    hello, backlog = await connected(comm)
    kinds = hello.pop("kinds")
    assert hello == {"type": "hello", "version": 2, "dropped_events": 0, "window": 8, "layer": "up"}
    # Every registered kind is described, so the dashboard can draw kinds it has no style of its own for.
    assert kinds["sql"] == {"label": "SQL", "symbol": "Q", "color": "#e69f00"}
    assert {"request", "middleware", "view", "template", "cache", "custom"} <= set(kinds)
    assert backlog["type"] == "backlog" and backlog["seq"] == 1
    assert [row["path"] for row in backlog["traces"]] == ["/t/tagged/two/", "/t/tagged/one/"]
    assert backlog["traces"][0]["queries"] == 2
    await comm.send_json_to({"type": "backlog"})
    again = await comm.receive_json_from()
    assert again == {**backlog, "seq": 2}
    await comm.disconnect()


async def test_live_span_events_and_finished_trace_from_an_async_request():
    comm = communicator()
    await connected(comm)
    response = await AsyncClient().get("/t/queries/3/")
    assert response.status_code == 200
    events = await events_until(comm, has_end("/t/queries/3/"))
    trace_id = events[-1]["trace_id"]
    mine = [e for e in events if e["trace_id"] == trace_id]
    kinds = [e["e"] for e in mine]
    assert kinds[0] == "trace.start" and kinds[-1] == "trace.end"
    assert mine[0]["row"]["status"] is None and mine[0]["row"]["path"] == "/t/queries/3/"
    starts = [e["span"] for e in mine if e["e"] == "span.start"]
    ends = [e["span"] for e in mine if e["e"] == "span.end"]
    assert {s["kind"] for s in starts} >= {"middleware", "view"}
    assert all(s["duration_ns"] is None for s in starts)
    sql = [s for s in ends if s["kind"] == "sql"]
    assert len(sql) == 3
    # Live SQL spans carry the statement but never the (not yet redacted) parameters or raw frames.
    assert all(set(s["attrs"]) <= {"sql", "alias", "vendor", "rows", "many"} for s in sql)
    assert sql[0]["attrs"]["sql"].startswith("SELECT")
    end = mine[-1]
    assert end["row"]["queries"] == 3 and end["row"]["status"] == 200
    trace = Trace.from_dict(end["trace"], source="trace.end")
    assert trace.id == trace_id and len(trace.spans_of("sql")) == 3
    assert "params" in trace.spans_of("sql")[0].attrs
    await comm.disconnect()


GATE = threading.Event()


def gated_view(request):
    """A view that runs one query, then waits until the test lets it finish."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    GATE.wait(5)
    return HttpResponse("done")


urlpatterns = [path("gated/", gated_view), path("", include("tests.urls"))]


@override_settings(ROOT_URLCONF="tests.test_consumers")
async def test_a_slow_sync_view_shows_as_running_then_finished():
    """Served by a plain thread (no event loop there); its events reach the consumer's loop live."""
    comm = communicator()
    await connected(comm)
    GATE.clear()

    def request() -> None:
        from django.db import connection

        try:
            record_sync("/gated/")
        finally:
            connection.close()

    thread = threading.Thread(target=request)
    thread.start()
    try:
        running = await events_until(comm, lambda events: any(
            e["e"] == "span.end" and e["span"]["kind"] == "sql" for e in events))
        kinds = [e["e"] for e in running]
        assert kinds[0] == "trace.start" and "trace.end" not in kinds
        assert any(e["e"] == "span.start" and e["span"]["kind"] == "view" for e in running)
    finally:
        GATE.set()
    finished = await events_until(comm, has_end("/gated/"))
    await asyncio.get_running_loop().run_in_executor(None, thread.join, 5)
    view_end = [e for e in finished if e["e"] == "span.end" and e["span"]["kind"] == "view"]
    assert len(view_end) == 1 and view_end[0]["span"]["duration_ns"] > 0
    assert finished[-1]["row"]["status"] == 200
    await comm.disconnect()


async def test_two_dashboards_get_the_same_events():
    first, second = communicator(), communicator()
    await connected(first)
    await connected(second)
    await AsyncClient().get("/t/tagged/both/")
    a = await events_until(first, has_end("/t/tagged/both/"))
    b = await events_until(second, has_end("/t/tagged/both/"))
    assert [e["e"] for e in a] == [e["e"] for e in b]
    await first.disconnect()
    await second.disconnect()
    assert get_publisher().listeners == 0


async def test_ping_and_malformed_client_messages_keep_the_socket_usable():
    comm = communicator()
    await connected(comm)
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from() == {"type": "pong"}
    bad = ["not json", "[1, 2]", '"ping"', '{"type": "launch"}', "{}", '{"type": 1}', '{"type": "ack"}',
           '{"type": "ack", "seq": "1"}', orjson.dumps({"type": "ping", "pad": "x" * 5000}).decode()]
    for text in bad:
        await comm.send_to(text_data=text)
        reply = await comm.receive_json_from()
        assert reply["type"] == "error" and reply["error"], (text, reply)
    await comm.send_to(bytes_data=b"\x00\x01")
    assert (await comm.receive_json_from())["type"] == "error"
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from() == {"type": "pong"}
    await comm.disconnect()


@override_settings(LIFECYCLE={"ACCESS_RECHECK": 0.05})
async def test_an_open_dashboard_rejoins_the_group_it_was_forgotten_by():
    """Channel layers forget group members after group_expiry (a day), silently: every check re-joins."""
    comm = communicator()
    await connected(comm)
    layer = get_channel_layer()
    layer.groups.pop("lifecycle", None)  # what the in-memory layer's expiry does
    for _ in range(100):
        if layer.groups.get("lifecycle"):
            break
        await asyncio.sleep(0.02)
    await AsyncClient().get("/t/tagged/renewed/")
    events = await events_until(comm, has_end("/t/tagged/renewed/"))
    assert sum(e["e"] == "trace.end" for e in events) == 1
    await comm.disconnect()


@override_settings(DEBUG=False)
async def test_refused_when_debug_is_off_even_for_internal_ips():
    assert await refused_with(communicator()) == CLOSE_FORBIDDEN


async def test_refused_for_anonymous_user_from_a_non_internal_ip():
    assert await refused_with(communicator(client=REMOTE)) == CLOSE_FORBIDDEN
    assert await refused_with(communicator(client=None)) == CLOSE_FORBIDDEN


async def test_staff_user_from_a_non_internal_ip_is_allowed():
    def staff_cookie() -> bytes:
        user = get_user_model().objects.create_user("staff", password="x", is_staff=True)
        client = Client()
        client.force_login(user)
        return f"sessionid={client.cookies['sessionid'].value}".encode()

    cookie = await sync_to_async(staff_cookie)()
    comm = communicator(client=REMOTE, headers=(ORIGIN, (b"cookie", cookie)))
    hello, _ = await connected(comm)
    assert hello["type"] == "hello"
    await comm.disconnect()


@override_settings(LIFECYCLE={"ACCESS_CALLBACK": "tests.test_consumers.nobody"})
async def test_a_custom_access_callback_is_used():
    assert await refused_with(communicator()) == CLOSE_FORBIDDEN


def nobody(viewer) -> bool:
    assert viewer.is_websocket and viewer.client_ip == "127.0.0.1"
    assert viewer.headers["origin"] == "http://testserver"
    return False


async def test_cross_origin_refused_by_the_asgi_application():
    ok, _ = await communicator(headers=[(b"origin", b"http://evil.example")]).connect()
    assert not ok


async def test_cross_origin_refused_by_the_consumer_without_the_validator():
    bare = URLRouter(routing.websocket_urlpatterns)
    assert await refused_with(
        communicator(headers=[(b"origin", b"http://evil.example")], app=bare)) == CLOSE_BAD_ORIGIN
    comm = communicator(app=bare)
    hello, _ = await connected(comm)
    assert hello["type"] == "hello"
    await comm.disconnect()
