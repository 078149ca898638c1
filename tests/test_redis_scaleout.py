"""Two real daphne processes sharing Redis: a request served by either reaches a dashboard on the other.

Needs ``REDIS_URL`` (e.g. ``redis://127.0.0.1:6379/0``); skipped without it, except on CI (``CI=true``),
where a missing Redis is a failure. Each run publishes under its own channel-layer prefix, so parallel
runs on one Redis do not see each other's events.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.conftest import redis_url_or_skip

pytestmark = pytest.mark.redis

REPO = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 60.0  # generous: a loaded CI machine may take long to import Django twice

SETTINGS = '''\
from tests.settings import *  # noqa: F401,F403
from tests.settings import CHANNEL_LAYERS

CHANNEL_LAYERS["default"].setdefault("CONFIG", {{}})["prefix"] = {prefix!r}
# Both processes keep their traces in one Redis store (its own keys for this run).
LIFECYCLE = {{"TRACE_STORE": "redis", "TRACE_STORE_OPTIONS": {{"url": {redis_url!r}, "prefix": {prefix!r}}}}}
'''


@pytest.fixture(scope="module")
def redis_url() -> str:
    return redis_url_or_skip("two-process Redis test")


class Server:
    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self.port = 0
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", "0", "demo_site.asgi:application"],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )

    def wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            match = re.search(r"Listening on TCP address 127\.0\.0\.1:(\d+)", self.output())
            if match:
                self.port = int(match.group(1))
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"daphne {self.name} did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()

    def stop(self) -> None:
        self.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@pytest.fixture(scope="module")
def servers(redis_url: str, tmp_path_factory) -> Iterator[tuple[Server, Server]]:
    tmp = tmp_path_factory.mktemp("scaleout")
    prefix = f"lifecycle-test-{uuid.uuid4().hex[:12]}"
    (tmp / "scaleout_settings.py").write_text(SETTINGS.format(prefix=prefix, redis_url=redis_url))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(tmp), str(REPO), os.environ.get("PYTHONPATH")) if p),
        "DJANGO_SETTINGS_MODULE": "scaleout_settings",
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "LIFECYCLE_REDIS_URL": redis_url,
        "DJANGO_DEBUG": "1",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env,
                   check=True, timeout=60)
    started: list[Server] = []
    try:
        for name in ("A", "B"):
            started.append(Server(name, env, tmp / f"daphne-{name}.log"))
        deadline = time.monotonic() + STARTUP_TIMEOUT
        for server in started:
            server.wait_ready(deadline)
        yield started[0], started[1]
    finally:
        for server in started:
            server.terminate()  # both at once, then wait for each
        for server in started:
            server.stop()


def http_json(server: Server, path: str):
    with urllib.request.urlopen(f"{server.origin}{path}", timeout=10) as response:
        return orjson.loads(response.read())


def http_get(server: Server, path: str) -> int:
    with urllib.request.urlopen(f"{server.origin}{path}", timeout=10) as response:
        response.read()
        return response.status


async def watch_while_requesting(dashboard: Server, target: Server, path: str) -> list[dict]:
    """Connect a websocket to ``dashboard``, request ``path`` from ``target``, return its live events."""
    from websockets.asyncio.client import connect

    url = f"ws://127.0.0.1:{dashboard.port}/__lifecycle__/ws/"
    async with connect(url, origin=dashboard.origin, open_timeout=10) as ws:
        hello = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        backlog = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert hello["type"] == "hello" and backlog["type"] == "backlog"
        # The websocket has joined the group once hello was sent: the request may go now.
        status = await asyncio.get_running_loop().run_in_executor(None, http_get, target, path)
        assert status == 200
        events: list[dict] = []
        deadline = asyncio.get_running_loop().time() + 10
        while not any(e["e"] == "trace.end" and e["row"]["path"] == path for e in events):
            remaining = deadline - asyncio.get_running_loop().time()
            assert remaining > 0, f"no trace.end for {path} on {dashboard.name}; got {events}"
            frame = orjson.loads(await asyncio.wait_for(ws.recv(), remaining))
            if "seq" in frame:
                await ws.send(orjson.dumps({"type": "ack", "seq": frame["seq"]}).decode())
            if frame["type"] == "events":
                events.extend(frame["events"])
    return events


@pytest.mark.parametrize("direction", ["B to A", "A to B"])
async def test_requests_served_by_one_process_reach_a_dashboard_on_the_other(servers, direction):
    a, b = servers
    dashboard, target = (a, b) if direction == "B to A" else (b, a)
    path = f"/t/tagged/{uuid.uuid4().hex[:8]}/"
    try:
        events = await watch_while_requesting(dashboard, target, path)
    except BaseException:
        print(f"--- daphne A ---\n{a.output()}\n--- daphne B ---\n{b.output()}")
        raise
    trace_id = next(e["trace_id"] for e in events if e["e"] == "trace.end" and e["row"]["path"] == path)
    mine = [e for e in events if e["trace_id"] == trace_id]
    assert mine[0]["e"] == "trace.start"
    assert sum(e["e"] == "span.end" and e["span"]["kind"] == "sql" for e in mine) == 2
    end = mine[-1]
    assert end["e"] == "trace.end" and end["row"]["queries"] == 2 and end["row"]["status"] == 200
    assert end["trace"]["id"] == trace_id
    # Every span of the finished trace was seen ending live, while the request ran.
    assert {s["id"] for s in end["trace"]["spans"]} == {e["span"]["id"] for e in mine if e["e"] == "span.end"}


async def test_a_trace_recorded_by_one_process_is_listed_downloaded_and_in_the_backlog_of_the_other(servers):
    from websockets.asyncio.client import connect

    a, b = servers
    path = f"/t/tagged/{uuid.uuid4().hex[:8]}/"
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, http_get, b, path) == 200
    deadline = time.monotonic() + 10
    while True:  # B's writer thread puts the trace in Redis just after the response
        rows = (await loop.run_in_executor(None, http_json, a, "/__lifecycle__/api/traces/"))["traces"]
        row = next((r for r in rows if r["path"] == path), None)
        if row is not None:
            break
        assert time.monotonic() < deadline, f"A never listed B's trace of {path}:\n{b.output()}"
        await asyncio.sleep(0.05)
    trace = await loop.run_in_executor(None, http_json, a, f"/__lifecycle__/api/traces/{row['id']}/?download=1")
    assert trace["id"] == row["id"] and trace["request"]["path"] == path and trace["summary"]["queries"] == 2
    async with connect(f"ws://127.0.0.1:{a.port}/__lifecycle__/ws/", origin=a.origin, open_timeout=10) as ws:
        assert orjson.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "hello"
        backlog = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
    assert backlog["type"] == "backlog" and row["id"] in [r["id"] for r in backlog["traces"]]
