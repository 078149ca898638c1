"""Throughput of the live path, end to end: daphne serving the bench site, a dashboard websocket reading.

    .venv-bench/bin/python bench/stream.py                       # in-memory layer, then Redis
    .venv-bench/bin/python bench/stream.py --layers memory -n 3000 -c 32 --view heavy

First bare Django under daphne (the reference), then for each layer, daphne serves ``bench.asgi``
(bench/settings.py in ``lifecycle`` mode, defaults: live span events on, ``PUBLISH_LINGER`` 30 ms, queue
of 10,000 events), and an asyncio HTTP/1.1 client (keep-alive, ``-c`` connections) sends ``-n`` GETs of
one view:

1. ``no dashboard``: nobody connected (the publisher builds no events with the in-memory layer; with
   Redis it publishes anyway: another process may listen).
2. ``dashboard``: a websocket client (the ``websockets`` package, in this process, as a browser would be
   in another) is connected to ``/__lifecycle__/ws/`` and reads everything.
3. Redis only, ``2 processes``: the dashboard on daphne A, the requests to daphne B (the fan-out a
   multi-process deployment relies on).

Reported: requests/s, and for the dashboard phases the events that reached the websocket: finished
traces (``trace.end``) of the load's requests against the requests sent, span events, frames, and the
``dropped_events`` count the server reports (publisher queue overflow, undeliverable, failed sends).
Redis: ``LIFECYCLE_REDIS_URL`` (default redis://127.0.0.1:6379/0); a redis-server is started on that
port for the run if none answers there, and stopped after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WS_PATH = "/__lifecycle__/ws/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daphne:
    def __init__(self, db: Path, redis_url: str | None, mode: str = "lifecycle") -> None:
        self.port = free_port()
        env = {**os.environ, "BENCH_MODE": mode, "BENCH_DB": str(db),
               "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(ROOT)}
        env.pop("LIFECYCLE_REDIS_URL", None)
        if redis_url:
            env["LIFECYCLE_REDIS_URL"] = redis_url
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (the server's output, kept while it runs)
        self.p = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                                   "bench.asgi:application"], cwd=str(ROOT), env=env, stdout=self.log,
                                  stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.p.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError(f"daphne did not start: {self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def stop(self) -> None:
        self.p.send_signal(signal.SIGINT)
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


async def http_load(port: int, path: str, n: int, concurrency: int) -> tuple[float, int]:
    """``n`` GETs over ``concurrency`` keep-alive connections; returns (seconds, non-200 answers)."""
    remaining = n
    errors = 0
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/html\r\n\r\n".encode()

    async def worker() -> None:
        nonlocal remaining, errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while remaining > 0:
                remaining -= 1
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = head.split(b" ", 2)[1]
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                if status != b"200":
                    errors += 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - t0, errors


class Dashboard:
    """A websocket client that reads every frame and counts the events."""

    def __init__(self, port: int, path: str) -> None:
        self.port = port
        self.path = path
        self.frames = 0
        self.events: dict[str, int] = {}
        self.traces_done: set[str] = set()
        self.dropped = 0
        self.missed = 0
        self.last_frame = time.monotonic()
        self.hello = None

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        self.ws = await connect(f"ws://127.0.0.1:{self.port}{WS_PATH}", origin=f"http://127.0.0.1:{self.port}",
                                max_size=None, ping_interval=None)
        self.hello = orjson.loads(await self.ws.recv())
        if self.hello.get("type") != "hello":
            raise RuntimeError(f"expected a hello frame, got {self.hello}")
        self.task = asyncio.get_running_loop().create_task(self.read())

    async def read(self) -> None:
        async for text in self.ws:
            self.frames += 1
            self.last_frame = time.monotonic()
            message = orjson.loads(text)
            if "seq" in message:  # acknowledged as the dashboard does, once read
                await self.ws.send(orjson.dumps({"type": "ack", "seq": message["seq"]}).decode())
            if message.get("type") != "events":
                continue
            self.dropped = max(self.dropped, message.get("dropped_events") or 0)
            self.missed = max(self.missed, message.get("missed_events") or 0)
            for event in message["events"]:
                kind = event.get("e")
                self.events[kind] = self.events.get(kind, 0) + 1
                if kind == "trace.end" and (event.get("row") or {}).get("path") == self.path:
                    self.traces_done.add(event["trace_id"])

    async def settle(self, expected: int, timeout: float = 15) -> None:
        """Wait until all expected traces arrived, or nothing came for 2 s, or ``timeout``."""
        deadline = time.monotonic() + timeout
        while (len(self.traces_done) < expected and time.monotonic() < deadline
               and time.monotonic() - self.last_frame < 2):
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        await self.ws.close()
        self.task.cancel()


async def phase(name: str, load_port: int, ws_port: int | None, args) -> dict:
    path = f"/{args.view}/"
    await http_load(load_port, path, min(200, args.n), args.c)  # warm up (not counted)
    dash = None
    if ws_port is not None:
        dash = Dashboard(ws_port, path)
        await dash.connect()
        await asyncio.sleep(0.3)
        dash.traces_done.clear()
    seconds, errors = await http_load(load_port, path, args.n, args.c)
    result = {"phase": name, "rps": args.n / seconds, "errors": errors}
    if dash is not None:
        await dash.settle(args.n)
        await dash.close()
        result.update(delivered=len(dash.traces_done), events=dash.events, frames=dash.frames,
                      dropped=dash.dropped, missed=dash.missed)
    return result


def redis_server(url: str):
    """Make sure a redis-server answers at ``url``; returns the process we started, or None."""
    from urllib.parse import urlparse

    u = urlparse(url)
    host, port = u.hostname or "127.0.0.1", u.port or 6379
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return None
    except OSError:
        pass
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError(f"no Redis at {host}:{port} and no redis-server to start")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", host, "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("redis-server did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", default="memory,redis")
    parser.add_argument("--view", default="light", choices=("light", "heavy"))
    parser.add_argument("-n", type=int, default=2000, help="requests per phase")
    parser.add_argument("-c", type=int, default=16, help="concurrent connections")
    args = parser.parse_args()

    from bench.overhead import machine_notes, setup_db

    print(f"# bench/stream.py  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(f"# {machine_notes()}; view /{args.view}/, {args.n} requests per phase, {args.c} connections")
    tmp = Path(tempfile.mkdtemp(prefix="lifecycle-stream-"))
    db = tmp / "db.sqlite3"
    setup_db(db)
    results = []
    started_redis = None
    try:
        bare = Daphne(db, None, mode="bare")
        try:
            r = asyncio.run(phase("bare Django (no lifecycle)", bare.port, None, args))
        finally:
            bare.stop()
        r["layer"] = "–"
        results.append(r)
        print(f"#   bare: {r['rps']:.0f} req/s", flush=True)
        for layer in [x.strip() for x in args.layers.split(",") if x.strip()]:
            redis_url = None
            if layer == "redis":
                redis_url = os.environ.get("LIFECYCLE_REDIS_URL", "redis://127.0.0.1:6379/0")
                started_redis = redis_server(redis_url) or started_redis
            a = Daphne(db, redis_url)
            servers = [a]
            try:
                for name, ws in (("no dashboard", False), ("dashboard", True)):
                    r = asyncio.run(phase(name, a.port, a.port if ws else None, args))
                    r["layer"] = layer
                    results.append(r)
                    print(f"#   {layer} {name}: {r['rps']:.0f} req/s", flush=True)
                if layer == "redis":
                    b = Daphne(db, redis_url)
                    servers.append(b)
                    r = asyncio.run(phase("dashboard, 2 processes", b.port, a.port, args))
                    r["layer"] = layer
                    results.append(r)
            except Exception:
                for s in servers:
                    print(s.output(), file=sys.stderr)
                raise
            finally:
                for s in servers:
                    s.stop()
    finally:
        if started_redis is not None:
            started_redis.terminate()
            started_redis.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print("| layer | phase | req/s | traces delivered / sent | span events | frames | dropped (server) "
          "| missed (this dashboard) |")
    print("|---|---|---|---|---|---|---|---|")
    ok = True
    for r in results:
        if "delivered" in r:
            spans = r["events"].get("span.start", 0) + r["events"].get("span.end", 0)
            print(f"| {r['layer']} | {r['phase']} | {r['rps']:.0f} | {r['delivered']} / {args.n} | {spans} | "
                  f"{r['frames']} | {r['dropped']} | {r['missed']} |")
            ok = ok and r["delivered"] == args.n
        else:
            print(f"| {r['layer']} | {r['phase']} | {r['rps']:.0f} | – | – | – | – | – |")
        ok = ok and r["errors"] == 0
    print()
    print(" ".join(f"{r['layer']}/{r['phase'].replace(' ', '-').replace(',', '')}={r['rps']:.0f}rps"
                   + (f",{r['delivered']}/{args.n}" if "delivered" in r else "") for r in results))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
