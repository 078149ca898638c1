"""What a slow or hostile dashboard client costs a loaded server: its memory, and what the client was told.

The demo site under daphne, loaded with concurrent requests to a page of 21 queries for ``--seconds``, with
one websocket client connected, in one of these roles:

- ``slow``: reads one frame a second (acknowledging it, as the dashboard does), while the server publishes
  hundreds of events a second. The websockets client buffers at most 4 frames, so TCP pushes back.
- ``flood``: sends ``backlog`` commands as fast as it can and never reads a frame.
- ``none``: no client (the baseline).

Reported: the server's RSS before and after, the requests made (each one a trace) and the ``trace.end``
events the client received, and the ``missed_events`` / ``dropped_events`` it was told. Run from the repository,
optionally with ``--root`` pointing to another checkout (e.g. a ``git worktree`` of an older commit) to
compare before and after with the same script::

    .venv/bin/python bench/hostile_client.py --role slow --role flood --role none
    .venv/bin/python bench/hostile_client.py --root /tmp/old --role slow
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Server:
    def __init__(self, root: Path, tmp: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'demo.sqlite3'}",
                    "DJANGO_SETTINGS_MODULE": "demo_site.settings", "PYTHONPATH": str(root)}
        self.env.pop("LIFECYCLE_REDIS_URL", None)
        manage = [sys.executable, str(root / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=self.env, check=True, cwd=root)
        subprocess.run([*manage, "seed_demo", "-v", "0"], env=self.env, check=True, cwd=root)
        self.proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                                      "demo_site.asgi:application"], env=self.env, cwd=root,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/books/", timeout=2).read()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("daphne did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


async def load(url: str, seconds: float, concurrency: int) -> int:
    done = 0
    stop = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        host, port = url.removeprefix("http://").split(":")
        while time.monotonic() < stop:
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(f"GET /books/ HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
            await reader.read()
            writer.close()
            done += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def run(role: str, server: Server, args) -> dict:
    from websockets.asyncio.client import connect

    stats = {"role": role, "rss_before": round(rss_mb(server.proc.pid), 1), "trace_end": 0, "frames": 0,
             "missed": 0, "dropped": 0, "closed": None}
    client_task = None
    if role != "none":
        ws = await connect(f"ws://127.0.0.1:{server.port}/__lifecycle__/ws/", origin=server.url,
                           max_size=None, max_queue=4, ping_interval=None)

        async def slow() -> None:
            while True:
                text = await ws.recv()
                message = json.loads(text)
                stats["frames"] += 1
                if "seq" in message:
                    await ws.send(json.dumps({"type": "ack", "seq": message["seq"]}))
                if message.get("type") == "events":
                    stats["trace_end"] += sum(e.get("e") == "trace.end" for e in message["events"])
                    stats["missed"] = message.get("missed_events", 0)
                    stats["dropped"] = message.get("dropped_events", 0)
                await asyncio.sleep(1.0)

        async def flood() -> None:
            frame = json.dumps({"type": "backlog"})
            try:
                while True:
                    await ws.send(frame)
            except Exception as exc:
                stats["closed"] = getattr(getattr(exc, "rcvd", None), "code", type(exc).__name__)

        client_task = asyncio.get_running_loop().create_task(slow() if role == "slow" else flood())
    stats["requests"] = await load(server.url, args.seconds, args.concurrency)  # one trace each
    stats["rss_after"] = round(rss_mb(server.proc.pid), 1)
    if client_task is not None:
        if role == "slow":  # read on for a while: what it gets now is what it was told about
            await asyncio.sleep(args.drain)
        client_task.cancel()
        await ws.close()
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose demo site is served")
    parser.add_argument("--role", action="append", choices=("slow", "flood", "none"))
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--drain", type=float, default=10, help="seconds the slow reader reads on after the load")
    args = parser.parse_args()
    results = []
    for role in args.role or ["slow", "flood", "none"]:
        with tempfile.TemporaryDirectory() as tmp:
            server = Server(args.root.resolve(), Path(tmp))
            try:
                results.append(asyncio.run(run(role, server, args)))
            finally:
                server.stop()
    print("| role | requests (traces) | trace.end received | events missed (told) | dropped (told) | frames "
          "| server RSS before -> after (MB) | closed |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['role']} | {r['requests']} | {r['trace_end']} | {r['missed']} | "
              f"{r['dropped']} | {r['frames']} | {r['rss_before']} -> {r['rss_after']} | {r['closed']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
