"""Who may read the live stream, and what one dashboard connection may cost the server.

Driven through the real ASGI application (or the bare route, as a site without channels' origin
validator has it) with channels' WebsocketCommunicator.
"""

from __future__ import annotations

import asyncio

import orjson
import pytest
from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, Client, override_settings

from demo_site.asgi import application
from lifecycle import safety, store
from lifecycle.live import routing
from lifecycle.live.consumer import CLOSE_BAD_ORIGIN, CLOSE_FLOOD, CLOSE_FORBIDDEN, Outbox
from lifecycle.live.publisher import GROUP, get_publisher

WS = "/__lifecycle__/ws/"
LOCAL = ("127.0.0.1", 50000)  # in INTERNAL_IPS: allowed by the default access rule
REMOTE = ("203.0.113.9", 50000)
BARE = URLRouter(routing.websocket_urlpatterns)  # no AllowedHostsOriginValidator in front

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh(settings):
    settings.DEBUG = True
    safety.reset()  # failures are logged once per process: each test sees its own
    publisher = get_publisher()
    publisher.reset()
    publisher.listeners = 0
    store.clear()
    yield
    publisher.listeners = 0
    store.clear()


def ws(host: str | None = "testserver", origin: str | None = "http://testserver", client=LOCAL, app=BARE,
       cookie: bytes | None = None, scheme: str = "ws") -> WebsocketCommunicator:
    headers = []
    if host is not None:
        headers.append((b"host", host.encode()))
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if cookie is not None:
        headers.append((b"cookie", cookie))
    comm = WebsocketCommunicator(app, WS, headers=headers)
    comm.scope["client"] = client
    comm.scope["scheme"] = scheme
    return comm


async def outcome(comm: WebsocketCommunicator) -> int | str:
    """The close code of a refused connection, or "hello" when it is served."""
    ok, code = await comm.connect()
    if not ok:
        return code
    message = await comm.receive_output()
    if message["type"] == "websocket.close":
        return message.get("code")
    assert orjson.loads(message["text"])["type"] == "hello"
    await comm.disconnect()
    return "hello"


async def closed_with(comm: WebsocketCommunicator, timeout: float = 5.0) -> int:
    """Read frames (acknowledging them, as the dashboard does) until the server closes; the close code."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        assert remaining > 0, "the server never closed the connection"
        message = await comm.receive_output(timeout=remaining)
        if message["type"] == "websocket.close":
            return message.get("code")
        frame = orjson.loads(message["text"])
        if "seq" in frame:
            await comm.send_json_to({"type": "ack", "seq": frame["seq"]})


# -- origins ---------------------------------------------------------------------------------------


@override_settings(ALLOWED_HOSTS=["*"])
@pytest.mark.parametrize("validated", [False, True], ids=["bare route", "with AllowedHostsOriginValidator"])
@pytest.mark.parametrize(("host", "origin"), [
    ("127.0.0.1:8000", "https://evil.example"),
    ("127.0.0.1:8000", "http://evil.example:8000"),
    ("localhost:8000", "http://localhost:5173"),      # a dev server on another port
    ("127.0.0.1:8000", "http://127.0.0.1:3000"),
    ("127.0.0.1:8000", "http://localhost:8000"),      # another host name is another origin
    ("127.0.0.1:8000", "null"),                       # sandboxed iframes, file:// pages
    ("127.0.0.1:8000", "http://127.0.0.1:8000.evil.example"),
    ("127.0.0.1:8000", "ftp://127.0.0.1:8000"),
])
async def test_pages_of_other_origins_are_refused_even_with_every_host_allowed(validated, host, origin):
    # The validator reads ALLOWED_HOSTS when it is built, as a site's asgi.py builds it at start-up.
    app = AllowedHostsOriginValidator(BARE) if validated else BARE
    result = await outcome(ws(host=host, origin=origin, app=app))
    # The validator passes everything under ALLOWED_HOSTS = ["*"]: the refusal is ours, with its code.
    assert result == CLOSE_BAD_ORIGIN


@override_settings(ALLOWED_HOSTS=["*"])
@pytest.mark.parametrize(("host", "origin", "scheme"), [
    ("127.0.0.1:8000", "http://127.0.0.1:8000", "ws"),
    ("localhost:5173", "http://localhost:5173", "ws"),
    ("dev.example.com", "https://dev.example.com", "ws"),  # TLS ended at a proxy: the server sees ws
    ("dev.example.com", "https://dev.example.com:443", "wss"),
    ("[::1]:8000", "http://[::1]:8000", "ws"),
    ("Example.COM", "http://example.com", "ws"),
])
async def test_the_dashboards_own_origin_is_served(host, origin, scheme):
    assert await outcome(ws(host=host, origin=origin, scheme=scheme)) == "hello"


@override_settings(ALLOWED_HOSTS=["*"])
async def test_a_page_served_over_tls_is_not_answered_by_a_plain_http_origin():
    assert await outcome(ws(host="dev.example.com", origin="http://dev.example.com", scheme="wss")) == CLOSE_BAD_ORIGIN


@override_settings(LIFECYCLE={"ALLOWED_ORIGINS": ["http://localhost:5173"]})
async def test_allowed_origins_lets_a_named_origin_in():
    assert await outcome(ws(host="127.0.0.1:8000", origin="http://localhost:5173")) == "hello"
    assert await outcome(ws(host="127.0.0.1:8000", origin="http://localhost:5174")) == CLOSE_BAD_ORIGIN


@override_settings(LIFECYCLE={"ALLOWED_ORIGINS": ["*"]})
async def test_a_wildcard_in_allowed_origins_is_a_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="ALLOWED_ORIGINS"):
        await ws(origin="http://evil.example").connect()


async def test_a_client_without_origin_is_judged_by_the_access_callback_alone():
    """Browsers always send Origin on a websocket: a client without one is a script."""
    assert await outcome(ws(origin=None, client=LOCAL)) == "hello"
    assert await outcome(ws(origin=None, client=REMOTE)) == CLOSE_FORBIDDEN


async def refusal(comm: WebsocketCommunicator) -> tuple[bool, dict]:
    """Whether the handshake was accepted, and the close message that followed."""
    ok, code = await comm.connect()
    if not ok:
        return False, {"type": "websocket.close", "code": code}
    return True, await comm.receive_output()


async def test_a_refused_viewer_is_told_why_in_the_close_reason():
    accepted, message = await refusal(ws(client=REMOTE))
    assert accepted and message == {
        "type": "websocket.close", "code": CLOSE_FORBIDDEN,
        "reason": "Staff or INTERNAL_IPS only: 203.0.113.9 is not in INTERNAL_IPS and you are not signed in."}


@override_settings(LIFECYCLE={"ACCESS_CALLBACK": "tests.test_websocket_security.nobody"})
async def test_a_custom_callback_refusal_names_the_callback():
    accepted, message = await refusal(ws())
    assert accepted and message["code"] == CLOSE_FORBIDDEN
    assert message["reason"] == "LIFECYCLE['ACCESS_CALLBACK'] (tests.test_websocket_security.nobody) refused this " \
                                "connection."


@override_settings(LIFECYCLE={"ACCESS_CALLBACK": "tests.test_websocket_security." + "very_" * 20 + "long"})
async def test_a_close_reason_fits_a_close_frame():
    accepted, message = await refusal(ws())
    assert accepted and message["code"] == CLOSE_FORBIDDEN
    assert len(message["reason"].encode()) <= 123 and message["reason"].endswith("...")


def nobody(viewer) -> bool:
    return False


globals()["very_" * 20 + "long"] = nobody


@pytest.mark.parametrize("off", [{"DEBUG": False}, {"LIFECYCLE": {"ENABLED": False}}])
async def test_where_lifecycle_is_off_the_handshake_is_refused(off):
    """DEBUG off (ENABLED None) or ENABLED False: not accepted, no reason, for a viewer the access rule
    would let in."""
    with override_settings(**off):
        accepted, message = await refusal(ws(client=LOCAL, app=application))
    assert not accepted and "reason" not in message


async def test_an_open_dashboard_is_closed_when_lifecycle_is_turned_off():
    with override_settings(LIFECYCLE={"ACCESS_RECHECK": 0.05}):
        comm, _ = await live_staff_dashboard()
        with override_settings(DEBUG=False):
            assert await closed_with(comm) == CLOSE_FORBIDDEN


# -- access, again and again -----------------------------------------------------------------------


def staff_session(username: str = "staff") -> tuple[bytes, object]:
    user = get_user_model().objects.create_user(username, password="x", is_staff=True)
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode(), user


async def live_staff_dashboard(app=application) -> tuple[WebsocketCommunicator, object]:
    cookie, user = await sync_to_async(staff_session)()
    comm = ws(client=REMOTE, cookie=cookie, app=app)
    ok, _ = await comm.connect()
    assert ok
    hello = await comm.receive_json_from()
    assert hello["type"] == "hello"
    return comm, user


def demote(user) -> None:
    user.is_staff = False
    user.save(update_fields=["is_staff"])


def deactivate(user) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])


def change_password(user) -> None:
    user.set_password("new")  # the session's auth hash no longer matches
    user.save()


def delete_sessions(user) -> None:
    Session.objects.all().delete()


@override_settings(LIFECYCLE={"ACCESS_RECHECK": 0.05})
@pytest.mark.parametrize("revoke", [demote, deactivate, change_password, delete_sessions])
async def test_a_viewer_who_loses_access_is_closed_at_the_next_check(revoke):
    comm, user = await live_staff_dashboard()
    await sync_to_async(revoke)(user)
    assert await closed_with(comm) == CLOSE_FORBIDDEN


@override_settings(LIFECYCLE={"ACCESS_RECHECK": 0.05})
async def test_a_viewer_who_keeps_access_keeps_the_stream():
    comm, _ = await live_staff_dashboard()
    await asyncio.sleep(0.3)  # several checks pass
    await AsyncClient().get("/t/tagged/still-here/")
    while True:
        frame = await comm.receive_json_from(timeout=5)
        await comm.send_json_to({"type": "ack", "seq": frame["seq"]})
        if frame["type"] == "events" and any(e["e"] == "trace.end" for e in frame["events"]):
            break
    await comm.disconnect()


@override_settings(LIFECYCLE={"ACCESS_RECHECK": 3600})
async def test_every_backlog_request_is_checked():
    comm, user = await live_staff_dashboard()
    await comm.receive_json_from()  # the first backlog
    await sync_to_async(demote)(user)
    await comm.send_json_to({"type": "backlog"})
    message = await comm.receive_output(timeout=5)
    assert message == {"type": "websocket.close", "code": CLOSE_FORBIDDEN,
                       "reason": "Staff or INTERNAL_IPS only: 203.0.113.9 is not in INTERNAL_IPS and your account "
                                 "is not staff."}


@override_settings(LIFECYCLE={"ACCESS_RECHECK": 0.05})
async def test_access_rechecks_write_nothing_to_the_session_store():
    """Django's get_user flushes a session whose hash is stale; a dashboard check must not."""
    comm, user = await live_staff_dashboard()
    await sync_to_async(change_password)(user)
    assert await closed_with(comm) == CLOSE_FORBIDDEN
    assert await sync_to_async(Session.objects.count)() == 1


# -- a slow or hostile client ----------------------------------------------------------------------


def batch(n: int, pad: int = 1000) -> dict:
    return {"type": "lifecycle.events", "events_json": orjson.dumps([{"e": "test", "n": n, "pad": "x" * pad}]),
            "count": 1, "dropped_events": 0, "source": "test"}


@override_settings(LIFECYCLE={"LIVE_CLIENT_WINDOW": 4, "LIVE_CLIENT_QUEUE_BYTES": 20_000, "ACCESS_RECHECK": 3600})
async def test_a_slow_reader_gets_the_newest_events_and_the_count_of_what_it_missed():
    comm = ws()
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "ack", "seq": 0})  # speaks protocol 2
    assert (await comm.receive_json_from())["window"] == 4
    layer = get_channel_layer()
    for n in range(100):
        await layer.group_send(GROUP, batch(n))
    # Before any acknowledgement: the window (the backlog and 3 event frames), nothing more.
    frames = [await comm.receive_json_from() for _ in range(4)]
    assert [f["type"] for f in frames] == ["backlog", "events", "events", "events"]
    assert await comm.receive_nothing(0.2)
    seen = [e["n"] for f in frames[1:] for e in f["events"]]
    missed = 0
    while True:
        await comm.send_json_to({"type": "ack", "seq": frames[-1]["seq"]})
        if await comm.receive_nothing(0.2):
            break
        frames = [await comm.receive_json_from()]
        while not await comm.receive_nothing(0.05):
            frames.append(await comm.receive_json_from())
        for frame in frames:
            seen += [e["n"] for e in frame["events"]]
            missed = frame["missed_events"]
    assert seen[-1] == 99, "the newest events arrive"
    assert 0 < missed < 100
    assert len(seen) + missed == 100, "every event is delivered or counted as missed"
    assert seen == sorted(seen)
    await comm.disconnect()


@override_settings(LIFECYCLE={"LIVE_CLIENT_WINDOW": 4, "LIVE_CLIENT_QUEUE_BYTES": 50_000, "ACCESS_RECHECK": 3600})
async def test_what_waits_for_a_client_that_never_reads_is_bounded(monkeypatch):
    outboxes: list[Outbox] = []
    original = Outbox.__init__
    monkeypatch.setattr(Outbox, "__init__", lambda self, *a: (original(self, *a), outboxes.append(self))[0])
    comm = ws()
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "ack", "seq": 0})
    await comm.receive_json_from()
    layer = get_channel_layer()
    for n in range(400):
        await layer.group_send(GROUP, batch(n, pad=2000))
    await asyncio.sleep(0.1)
    sent = 0
    while not await comm.receive_nothing(0.05):
        await comm.receive_output()
        sent += 1
    assert sent == 4
    # The frames held by the client's window, plus at most the queue's bytes: not 400 batches of 2 KB.
    (outbox,) = outboxes
    assert 0 < outbox.waiting_bytes <= 50_000
    assert outbox.waiting_bytes == sum(len(item[0]) for item in outbox.waiting if item is not Outbox.BACKLOG)
    assert outbox.missed > 300
    await comm.disconnect()


@override_settings(LIFECYCLE={"LIVE_CLIENT_RATE": 5, "ACCESS_RECHECK": 3600})
async def test_a_command_flood_is_rate_limited_then_closed():
    comm = ws()
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "ack", "seq": 0})
    for _ in range(500):
        await comm.send_json_to({"type": "backlog"})
    frames, code = [], None
    while True:
        message = await comm.receive_output(timeout=5)
        if message["type"] == "websocket.close":
            code = message["code"]
            break
        frames.append(orjson.loads(message["text"]))
    assert code == CLOSE_FLOOD
    kinds = [f["type"] for f in frames]
    # Never acknowledged: at most the window's worth of backlogs went out, however many were asked for.
    assert kinds.count("backlog") <= 8
    errors = [f["error"] for f in frames if f["type"] == "error"]
    assert errors and all("rate limited" in e for e in errors) and len(errors) <= 2


@override_settings(LIFECYCLE={"LIVE_CLIENT_RATE": 5, "ACCESS_RECHECK": 3600})
async def test_acknowledgements_are_not_rate_limited():
    comm = ws()
    assert (await comm.connect())[0]
    await comm.receive_json_from()
    backlog = await comm.receive_json_from()
    for _ in range(200):
        await comm.send_json_to({"type": "ack", "seq": backlog["seq"]})
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from() == {"type": "pong"}
    await comm.disconnect()


# -- the channel layer fails -----------------------------------------------------------------------


class FlakyLayer(InMemoryChannelLayer):
    """The in-memory layer, made to fail as a Redis layer does when Redis is down."""

    down = False

    async def new_channel(self, prefix="specific."):
        if FlakyLayer.down:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return await super().new_channel(prefix)

    async def group_add(self, group, channel):
        if FlakyLayer.down:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return await super().group_add(group, channel)

    async def send(self, channel, message):
        if FlakyLayer.down:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return await super().send(channel, message)

    async def receive(self, channel):
        if FlakyLayer.down:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return await super().receive(channel)


FLAKY = {"default": {"BACKEND": "tests.test_websocket_security.FlakyLayer"}}


@override_settings(CHANNEL_LAYERS=FLAKY, LIFECYCLE={"ACCESS_RECHECK": 0.05})
async def test_a_layer_that_is_down_is_reported_and_the_stream_resumes_when_it_is_back(caplog):
    FlakyLayer.down = True
    try:
        comm = ws()
        assert (await comm.connect())[0]
        hello = await comm.receive_json_from()
        assert hello["layer"] == "down" and "Connection refused" in hello["error"]
        await comm.receive_json_from()  # the backlog still comes from this process's store
        await asyncio.sleep(0.2)  # several failed checks: the socket stays open, nothing crashes
        assert await comm.receive_nothing(0.05)
    finally:
        FlakyLayer.down = False
    status = await comm.receive_json_from(timeout=5)
    assert status == {"type": "status", "layer": "up"}
    backlog = await comm.receive_json_from(timeout=5)
    assert backlog["type"] == "backlog"
    await comm.send_json_to({"type": "ack", "seq": backlog["seq"]})
    await AsyncClient().get("/t/tagged/after-outage/")
    while True:
        frame = await comm.receive_json_from(timeout=5)
        await comm.send_json_to({"type": "ack", "seq": frame["seq"]})
        if any(e["e"] == "trace.end" and e["row"]["path"] == "/t/tagged/after-outage/" for e in frame["events"]):
            break
    await comm.disconnect()
    warnings = [r for r in caplog.records if "channel layer" in r.getMessage()]
    assert len(warnings) == 1, "the failure is logged once"


@override_settings(CHANNEL_LAYERS=FLAKY, LIFECYCLE={"ACCESS_RECHECK": 0.05})
async def test_a_layer_that_goes_down_while_connected_is_reported():
    FlakyLayer.down = False
    comm = ws()
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from())["layer"] == "up"
    await comm.receive_json_from()
    FlakyLayer.down = True
    try:
        status = await comm.receive_json_from(timeout=5)
        assert status["type"] == "status" and status["layer"] == "down"
    finally:
        FlakyLayer.down = False
    assert (await comm.receive_json_from(timeout=5)) == {"type": "status", "layer": "up"}
    await comm.disconnect()
