"""A dashboard client that floods commands and never reads, against the demo site under a real daphne.

daphne reads a client's frames as fast as they arrive and queues them for the consumer without bound, so
the consumer must take them as fast as they come: the rate limit then closes the connection (4429) after
a few hundred commands, daphne drops it when the client does not answer the close, and the server's
memory stays where it was. Before, the consumer took one frame per turn of the event loop and a command
flood of a few seconds pinned hundreds of MB in the server (the connection was never closed).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 60.0
# Frames the flooding client may send before the server closes it. After the fix it is closed after
# about a second's worth (daphne's close handshake timeout); before, never.
MAX_FRAMES = 1_500_000


class Daphne:
    def __init__(self, tmp: Path) -> None:
        self.log = tmp / "daphne.log"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "demo_site.settings", "PYTHONPATH": str(REPO),
               "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
               "LIFECYCLE_TRACE_STORE_PATH": str(tmp / "traces.sqlite3")}
        env.pop("LIFECYCLE_REDIS_URL", None)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env,
                       check=True)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", "0", "demo_site.asgi:application"],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            match = re.search(r"Listening on TCP address 127\.0\.0\.1:(\d+)", self.log.read_text())
            if match:
                self.port = int(match.group(1))
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"daphne did not start:\n{self.log.read_text()}")

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    def get(self, path: str) -> int:
        with urllib.request.urlopen(self.origin + path, timeout=30) as response:
            response.read()
            return response.status

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def daphne(tmp_path) -> Iterator[Daphne]:
    server = Daphne(tmp_path)
    try:
        yield server
    finally:
        server.stop()


def test_a_command_flood_from_a_client_that_never_reads_is_closed_and_costs_no_memory(daphne):
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    assert daphne.get("/books/") == 200
    before = daphne.rss_mb()

    async def flood() -> int:
        # max_queue=1: the client stops reading its socket at once, as a hostile or frozen one would.
        ws = await connect(f"ws://127.0.0.1:{daphne.port}/__lifecycle__/ws/", origin=daphne.origin,
                           max_queue=1, ping_interval=None, close_timeout=1)
        frame = '{"type": "backlog"}'
        sent = 0
        try:
            while sent < MAX_FRAMES:
                await ws.send(frame)
                sent += 1
        except ConnectionClosed:
            return sent
        finally:
            ws.transport.abort()
        return sent

    sent = asyncio.run(flood())
    assert sent < MAX_FRAMES, f"the server never closed a client that sent {sent} commands unread"
    assert daphne.get("/books/") == 200, "the site still serves pages"
    grown = daphne.rss_mb() - before
    assert grown < 60, f"the flood left the server {grown:.0f} MB larger"
