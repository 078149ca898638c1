"""The benchmark's server: the built dashboard page, a websocket speaking the live protocol, control URLs.

One ``websockets`` server on one port (same origin for the page and the socket), no Django:

- ``GET /``: ``lifecycle/templates/lifecycle/dashboard.html`` rendered with its config
  (``wsUrl: /ws/``, ``apiBase: /api/``); ``GET /static/lifecycle/...``: the committed build.
- ``/ws/``: ``hello``, an empty ``backlog``, then whatever the control URLs ask for, as ``events`` frames
  batched like ``lifecycle.publish`` does (at most 200 events and 1 MB of traces per frame, a frame every
  30 ms while streaming). ``ping`` is answered ``pong``.
- ``GET /control/push?kind=big|request&id=...``: one finished trace (``trace.start`` + ``trace.end``).
- ``GET /control/stream?rate=500&seconds=10&live_spans=1``: requests at ``rate`` per second: each one's
  ``trace.start`` and span events (``span.start``/``span.end``, with the live subset of attributes) in one
  tick, its ``trace.end`` with the whole trace (31 spans, 16 KB) in the next.
- ``GET /control/log``: ``{"done": bool, "starts": [[seq, wall_ms], ...], "frames": n, "bytes": n}``: when
  the frame with each trace's ``trace.start`` was sent (wall clock, ms), for the lag computation.

Run by ``run.py`` in a subprocess (its own interpreter: the sends are not slowed by the driver).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import mimetypes
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import tracegen
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "lifecycle" / "static"
TEMPLATE = ROOT / "lifecycle" / "templates" / "lifecycle" / "dashboard.html"
TICK_S = 0.03  # lifecycle's PUBLISH_LINGER
BATCH_EVENTS = 200  # lifecycle.live.queue.BATCH_EVENTS
BATCH_BYTES = 1 << 20  # lifecycle.live.queue.BATCH_BYTES
# Attributes of live span events (lifecycle.live.encoding._LIVE_ATTRS for sql; other kinds keep scalars).
LIVE_SQL_ATTRS = ("sql", "alias", "vendor", "rows", "many")


def render_page() -> bytes:
    """The Django template, rendered by hand (fails loudly if it gains tags we do not know)."""
    html = TEMPLATE.read_text()
    config = json.dumps({"wsUrl": "/ws/", "apiBase": "/api/", "version": 1})
    html = html.replace("{% load static %}", "")
    html = html.replace("{% static 'lifecycle/dashboard.css' %}", "/static/lifecycle/dashboard.css")
    html = html.replace("{% static 'lifecycle/dashboard.js' %}", "/static/lifecycle/dashboard.js")
    html = html.replace('{{ config|json_script:"lifecycle-config" }}',
                        f'<script id="lifecycle-config" type="application/json">{config}</script>')
    if "{%" in html or "{{" in html:
        raise SystemExit(f"{TEMPLATE} has template tags this benchmark does not render: update feeder.py")
    return html.encode()


def iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def live_span(span: dict[str, Any], closed: bool) -> dict[str, Any]:
    if span["kind"] == "sql":
        attrs = {k: span["attrs"][k] for k in LIVE_SQL_ATTRS if k in span["attrs"]}
    else:
        attrs = {k: v for k, v in span["attrs"].items() if v is None or isinstance(v, (str, int, float, bool))}
    return {**span, "duration_ns": span["duration_ns"] if closed else None, "attrs": attrs}


class RequestTemplate:
    """Pre-serialized events of one request; ``__ID__`` and ``__TS__`` are filled in per trace."""

    def __init__(self) -> None:
        trace = tracegen.request_trace()
        trace["id"], trace["started_at"] = "__ID__", "__TS__"
        self.trace_json = dumps(trace)
        row = tracegen.row_of(trace)
        self.row_done = dumps(row)
        self.row_running = dumps({**row, "status": None, "duration_ns": None})
        spans = [s for s in trace["spans"] if s["parent_id"] is not None]  # the request span is never sent live
        starts = [f'{{"e":"span.start","trace_id":"__ID__","span":{dumps(live_span(s, False))}}}'
                  for s in spans if s["kind"] != "sql"]
        leaf_ends = [f'{{"e":"span.end","trace_id":"__ID__","span":{dumps(live_span(s, True))}}}'
                     for s in spans if s["kind"] == "sql"]
        ends = [f'{{"e":"span.end","trace_id":"__ID__","span":{dumps(live_span(s, True))}}}'
                for s in reversed(spans) if s["kind"] != "sql"]
        self.span_events = starts + leaf_ends + ends

    def start(self, tid: str, ts: str, live_spans: bool) -> list[str]:
        start = f'{{"e":"trace.start","trace_id":"{tid}","row":{self.row_running}}}'
        start = start.replace("__ID__", tid).replace("__TS__", ts)
        if not live_spans:
            return [start]
        return [start, *(e.replace("__ID__", tid) for e in self.span_events)]

    def end(self, tid: str, ts: str) -> str:
        row = self.row_done.replace("__ID__", tid).replace("__TS__", ts)
        trace = self.trace_json.replace("__ID__", tid).replace("__TS__", ts)
        return f'{{"e":"trace.end","trace_id":"{tid}","row":{row},"trace":{trace}}}'


def frames_of(events: list[str], starts: dict[int, int] | None = None) -> list[tuple[bytes, list[int]]]:
    """Events in frames the way lifecycle.publish batches them (at most 200 events, 1 MB of text), each
    with the traces whose trace.start it carries (``starts``: event index -> trace sequence number)."""
    out: list[tuple[bytes, list[int]]] = []
    batch: list[str] = []
    seqs: list[int] = []
    size = 0

    def cut() -> None:
        frame = '{"type":"events","events":[' + ",".join(batch) + '],"dropped_events":0}'
        out.append((frame.encode(), list(seqs)))

    for n, e in enumerate(events):
        batch.append(e)
        if starts and n in starts:
            seqs.append(starts[n])
        size += len(e)
        if len(batch) >= BATCH_EVENTS or size >= BATCH_BYTES:
            cut()
            batch, seqs, size = [], [], 0
    if batch:
        cut()
    return out


def stream_id(seq: int) -> str:
    return f"{seq:016x}"


class Feeder:
    def __init__(self, static: Path = STATIC) -> None:
        self.static = static.resolve()
        self.page = render_page()
        self.clients: set[ServerConnection] = set()
        self.request = RequestTemplate()
        self.big: dict[str, Any] | None = None
        self.log: dict[str, Any] = {"done": True, "starts": [], "frames": 0, "bytes": 0}
        self.task: asyncio.Task[None] | None = None

    # ---- websocket

    async def handler(self, ws: ServerConnection) -> None:
        self.clients.add(ws)
        try:
            await ws.send(dumps({"type": "hello", "version": 1, "dropped_events": 0}))
            await ws.send(dumps({"type": "backlog", "traces": []}))
            async for message in ws:
                kind = json.loads(message).get("type") if isinstance(message, str) else None
                if kind == "ping":
                    await ws.send('{"type":"pong"}')
                elif kind == "backlog":
                    await ws.send(dumps({"type": "backlog", "traces": []}))
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(ws)

    async def broadcast(self, events: list[str]) -> None:
        for frame, _ in frames_of(events):
            await self.send_frame(frame)

    async def send_frame(self, frame: bytes) -> None:
        self.log["frames"] += 1
        self.log["bytes"] += len(frame)
        for ws in list(self.clients):
            try:
                await ws.send(frame, text=True)
            except ConnectionClosed:
                self.clients.discard(ws)

    # ---- control

    async def push(self, kind: str, tid: str) -> None:
        ts = iso_now()
        if kind == "big":
            if self.big is None:
                self.big = tracegen.big_trace()
            trace = {**self.big, "id": tid, "started_at": ts}
            row = tracegen.row_of(trace)
            events = [dumps({"e": "trace.start", "trace_id": tid, "row": {**row, "status": None, "duration_ns": None}}),
                      dumps({"e": "trace.end", "trace_id": tid, "row": row, "trace": trace})]
        else:
            events = [*self.request.start(tid, ts, False), self.request.end(tid, ts)]
        await self.broadcast(events)

    def plan(self, rate: float, seconds: float, live_spans: bool) -> list[list[tuple[bytes, list[int]]]]:
        """The frames of each tick, built before the clock starts (the feeder then only sends): a request's
        trace.start and span events in the tick it starts, its trace.end in the next one."""
        total = int(rate * seconds)
        ticks: list[list[tuple[bytes, list[int]]]] = []
        started = 0
        pending: list[tuple[int, str]] = []
        base = time.time()
        k = 0
        while started < total or pending:
            target = min(total, int(rate * TICK_S * (k + 1)))
            events = [self.request.end(stream_id(seq), ts) for seq, ts in pending]
            pending = []
            starts: dict[int, int] = {}
            for seq in range(started + 1, target + 1):
                ts = datetime.fromtimestamp(base + seq / rate, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                starts[len(events)] = seq
                events.extend(self.request.start(stream_id(seq), ts, live_spans))
                pending.append((seq, ts))
            started = max(started, target)
            ticks.append(frames_of(events, starts))
            k += 1
        return ticks

    async def stream(self, rate: float, seconds: float, live_spans: bool) -> None:
        ticks = self.plan(rate, seconds, live_spans)
        log = self.log = {"done": False, "starts": [], "frames": 0, "bytes": 0, "rate": rate, "seconds": seconds,
                          "live_spans": live_spans, "total": int(rate * seconds)}
        t0 = time.perf_counter()
        for k, frames in enumerate(ticks):
            # On schedule; a late tick (the loop was slow) goes out at once, so the rate holds on average.
            await asyncio.sleep(max(0.0, t0 + k * TICK_S - time.perf_counter()))
            for frame, seqs in frames:
                await self.send_frame(frame)
                if seqs:
                    sent_ms = time.time() * 1000
                    log["starts"].extend([seq, sent_ms] for seq in seqs)
        log["elapsed_s"] = time.perf_counter() - t0
        log["done"] = True

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path == "/ws/":
            return None
        if url.path == "/":
            return respond(200, self.page, "text/html; charset=utf-8")
        if url.path.startswith("/static/"):
            file = (self.static / url.path.removeprefix("/static/")).resolve()
            if self.static in file.parents and file.is_file():
                return respond(200, file.read_bytes(), mimetypes.guess_type(file.name)[0] or "application/octet-stream")
            return respond(404, b"not found", "text/plain")
        loop = asyncio.get_running_loop()
        if url.path == "/control/push":
            loop.create_task(self.push(q.get("kind", "request"), q["id"]))
            return respond(200, b"ok", "text/plain")
        if url.path == "/control/stream":
            if self.task and not self.task.done():
                return respond(409, b"already streaming", "text/plain")
            self.task = loop.create_task(self.stream(float(q.get("rate", 500)), float(q.get("seconds", 10)),
                                                     q.get("live_spans", "1") == "1"))
            return respond(200, b"ok", "text/plain")
        if url.path == "/control/log":
            return respond(200, dumps(self.log).encode(), "application/json")
        if url.path == "/control/clients":
            return respond(200, str(len(self.clients)).encode(), "text/plain")
        return respond(404, b"not found", "text/plain")


def respond(status: int, body: bytes, content_type: str) -> Response:
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(body))),
                       ("Cache-Control", "no-store"), ("Connection", "close")])
    return Response(status, "OK" if status == 200 else "Error", headers, body)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--static", type=Path, default=STATIC, help="folder holding lifecycle/dashboard.js|css")
    args = parser.parse_args()
    feeder = Feeder(args.static)
    # No compression: daphne does not negotiate permessage-deflate either. The default write limit (32 KiB)
    # makes a send return once the browser has taken most of the frame, so the log's send times are close
    # to the arrival times (a big buffer here would count its own queueing as the page's lag).
    async with serve(feeder.handler, "127.0.0.1", args.port, process_request=feeder.process_request,
                     compression=None, max_size=None, ping_interval=None) as server:
        print(f"listening on http://127.0.0.1:{args.port}/", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
