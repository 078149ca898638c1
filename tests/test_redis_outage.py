"""A Redis that goes away while a dashboard is open: the dashboard is told, and the stream resumes.

Uses a private ``redis-server`` (Debian's package; the one ``REDIS_URL`` names is never stopped), started,
killed and started again on the same port. Skipped without the ``redis-server`` program, except on CI
(``CI=true``), where it is a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import orjson
import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient, override_settings

from lifecycle import safety, store
from lifecycle.live import routing
from lifecycle.live.publisher import get_publisher

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    def __init__(self) -> None:
        self.exe = shutil.which("redis-server")
        if self.exe is None:
            reason = "redis-server is not installed (apt-get install redis-server): Redis outage test skipped"
            if os.environ.get("CI") == "true":
                pytest.fail(reason)
            print(reason)
            pytest.skip(reason)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.kill()


@pytest.fixture(autouse=True)
def fresh(settings):
    settings.DEBUG = True
    safety.reset()  # failures are logged once per process: each test sees its own
    get_publisher().reset()
    get_publisher().listeners = 0
    store.clear()
    yield
    get_publisher().listeners = 0
    store.clear()


async def next_frame(comm: WebsocketCommunicator, want, timeout: float = 20.0) -> dict:
    """Frames are read (and acknowledged) until one satisfies ``want``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        assert remaining > 0, "timed out"
        frame = await comm.receive_json_from(timeout=remaining)
        if "seq" in frame:
            await comm.send_json_to({"type": "ack", "seq": frame["seq"]})
        if want(frame):
            return frame


async def test_a_redis_outage_is_shown_and_the_stream_resumes_after_it(redis):
    layers = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                          "CONFIG": {"hosts": [f"redis://127.0.0.1:{redis.port}/0"]}}}
    with override_settings(CHANNEL_LAYERS=layers, LIFECYCLE={"ACCESS_RECHECK": 0.2}):
        comm = WebsocketCommunicator(URLRouter(routing.websocket_urlpatterns), "/__lifecycle__/ws/",
                                     headers=[(b"host", b"testserver"), (b"origin", b"http://testserver")])
        comm.scope["client"] = ("127.0.0.1", 5000)
        # Connecting imports channels_redis and joins the group: more than the default 1 s on a busy machine.
        assert (await comm.connect(timeout=10))[0]
        hello = await comm.receive_json_from(timeout=10)
        assert hello["layer"] == "up"
        await next_frame(comm, lambda f: f["type"] == "backlog")

        redis.kill()
        down = await next_frame(comm, lambda f: f["type"] == "status")
        assert down["layer"] == "down" and down["error"]
        # Requests go on while Redis is away, and the socket stays open (no 1011).
        response = await AsyncClient().get("/t/tagged/during-outage/")
        assert response.status_code == 200

        await asyncio.get_running_loop().run_in_executor(None, redis.start)
        up = await next_frame(comm, lambda f: f["type"] == "status")
        assert up == {"type": "status", "layer": "up"}
        # What finished during the outage comes with the backlog sent on recovery.
        backlog = await next_frame(comm, lambda f: f["type"] == "backlog")
        assert "/t/tagged/during-outage/" in [row["path"] for row in backlog["traces"]]
        await AsyncClient().get("/t/tagged/after-outage/")
        await next_frame(comm, lambda f: f["type"] == "events" and any(
            e["e"] == "trace.end" and e["row"]["path"] == "/t/tagged/after-outage/" for e in f["events"]))
        await comm.disconnect()
    assert orjson.dumps(store.recent())  # the store kept working through it
