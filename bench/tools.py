"""One class per benchmark mode: how to switch the tool on, and how to prove that it really recorded.

Every ``verify`` raises :class:`NotRecorded` (the run then stops loudly) when the tool saw less than it
should have: a benchmark of a tool that silently did nothing would flatter it.

Expected per heavy request: 21 SQL queries; per light request: 1.
"""

from __future__ import annotations

import asyncio
import collections
import os
import threading
import time
from typing import Any

QUERIES = {"heavy": 21, "light": 1}


class NotRecorded(AssertionError):
    pass


def expect(ok: bool, message: str) -> None:
    if not ok:
        raise NotRecorded(message)


class Tool:
    """Bare Django: the reference."""

    name = "bare"

    def before_setup(self) -> None:
        """Runs before ``django.setup()`` (settings are importable, apps are not loaded)."""

    def before_handler(self) -> None:
        """Runs after ``django.setup()`` and before the WSGI handler (and its middleware chain) is built."""

    def after_batch(self, view: str, n: int, last_body: bytes) -> None:
        """Called after every timed batch, outside the timing: cheap bookkeeping only."""

    def verify(self, view: str, body: bytes) -> dict[str, Any]:
        """Called after a batch, untimed: check that the tool recorded the last request of ``view``."""
        expect(b"djDebug" not in body and b"<li>" in body or view == "light", "bare page looks wrong")
        return {}

    def trim(self) -> None:
        """Drop what an unbounded test-only sink kept (e.g. an in-memory exporter), before memory is read."""

    def close(self) -> None:
        pass


class Bare2(Tool):
    name = "bare2"


class Lifecycle(Tool):
    """Our middleware, every instrument, the summary, orjson, the recent-trace store and the publisher
    (with no dashboard connected)."""

    name = "lifecycle"

    def __init__(self) -> None:
        self.seen = 0

    def verify(self, view: str, body: bytes) -> dict[str, Any]:
        from lifecycle import store
        from lifecycle.trace import Trace

        rows = store.recent(1)
        expect(bool(rows), "lifecycle: the recent-trace store is empty")
        row = rows[0]
        expect(row["path"] == f"/{view}/", f"lifecycle: last trace is {row['path']!r}, expected /{view}/")
        trace = Trace.from_json(store.get_json(row["id"]))
        kinds: dict[str, int] = {}
        for span in trace.spans:
            kinds[span.kind] = kinds.get(span.kind, 0) + 1
        expect(kinds.get("sql") == QUERIES[view], f"lifecycle: {kinds.get('sql')} sql spans, expected {QUERIES[view]}")
        expect(kinds.get("middleware", 0) >= 7, f"lifecycle: middleware spans {kinds.get('middleware')}")
        expect(kinds.get("view") == 1 and kinds.get("resolve") == 1, f"lifecycle: spans {kinds}")
        expect(kinds.get("template", 0) == (3 if view == "heavy" else 1), f"lifecycle: template spans {kinds}")
        sql = [s for s in trace.spans if s.kind == "sql"]
        from lifecycle import conf

        if conf.get("STACK_DEPTH"):
            expect(all(s.attrs.get("stack") for s in sql), "lifecycle: SQL spans without user stack frames")
            expect(any("bench/benchapp/views.py" in f[0] for f in sql[-1].attrs["stack"]),
                   f"lifecycle: stack does not show the view: {sql[-1].attrs['stack']}")
        if view == "heavy":
            groups = trace.summary["duplicate_groups"]
            expect(any(g["count"] == 20 and g["n_plus_one"] for g in groups), "lifecycle: no N+1 group of 20")
        from lifecycle.publish import get_publisher

        publisher = get_publisher()
        import lifecycle

        return {"src": os.path.dirname(lifecycle.__file__), "spans": len(trace.spans), "kinds": kinds,
                "json_bytes": len(store.get_json(row["id"])),
                "publisher": type(publisher).__name__, "dropped": getattr(publisher, "dropped", None),
                "stored": store.size()}


class LifecycleLive(Lifecycle):
    """As ``lifecycle``, with a dashboard connected and reading.

    The requests still go through the WSGI handler in the main thread (as for every mode, so timings
    compare), while an asyncio loop in a second thread plays the ASGI server: it runs the real
    ``DashboardConsumer`` (``lifecycle.routing.websocket_urlpatterns``, path ``__lifecycle__/ws/``)
    through channels' ``WebsocketCommunicator``, the in-memory channel layer lives on it, and the
    publisher is bound to it (what it does under daphne, where it captures the server's loop). So span
    events really flow: publisher queue -> drain task -> group_send -> consumer -> websocket frames,
    which a reader task receives and counts. ``verify`` checks that frames for the last request arrived.
    """

    name = "lifecycle-live"

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="bench-asgi-loop", daemon=True)
        self.frames = 0
        self.messages: list[Any] = []
        self.recent: collections.deque[str] = collections.deque(maxlen=16)
        self.communicator = None
        self.reader = None

    def before_handler(self) -> None:
        from lifecycle import publish

        if not hasattr(publish, "bind_loop") and not hasattr(publish.get_publisher(), "bind_loop"):
            raise NotRecorded("lifecycle-live: lifecycle.publish has no way to bind a loop yet (publisher "
                              "not ready: issue 3)")
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._connect(), self.loop).result(10)

    async def _connect(self) -> None:
        from channels.routing import URLRouter
        from channels.testing import WebsocketCommunicator

        import lifecycle.routing
        from lifecycle import publish

        binder = getattr(publish, "bind_loop", None) or publish.get_publisher().bind_loop
        binder(asyncio.get_running_loop())
        app = URLRouter(lifecycle.routing.websocket_urlpatterns)
        self.communicator = WebsocketCommunicator(app, "/__lifecycle__/ws/", headers=[
            (b"host", b"testserver"), (b"origin", b"http://testserver")])
        self.communicator.scope["client"] = ("127.0.0.1", 50000)
        connected, code = await self.communicator.connect(timeout=5)
        if not connected:
            raise NotRecorded(f"lifecycle-live: websocket refused (code {code})")
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        # Kept as cheap as a browser's socket read would be for this process: count the frames and keep
        # the last ones as text; verify() searches them. (Parsing every frame here would bill the
        # dashboard's own work to the server.)
        queue = self.communicator.output_queue
        recent = self.recent
        while True:
            message = await queue.get()
            if message.get("type") != "websocket.send":
                self.messages.append(message)
                continue
            self.frames += 1
            text = message.get("text") or ""
            recent.append(text)
            # Acknowledged as the dashboard does ({"type":...,"seq":N,...}: orjson keeps the key order).
            if text.startswith('{"type":"events","seq":') or text.startswith('{"type":"backlog","seq":'):
                start = text.index('"seq":') + 6
                seq = text[start:text.index(",", start)]
                await self.communicator.send_to(text_data=f'{{"type":"ack","seq":{seq}}}')

    def loop_cpu_ns(self) -> int:
        """CPU time used so far by the loop thread (channel layer, consumer, drain, reader)."""
        async def cpu() -> int:
            return time.thread_time_ns()

        return asyncio.run_coroutine_threadsafe(cpu(), self.loop).result(5)

    def verify(self, view: str, body: bytes) -> dict[str, Any]:
        from lifecycle import store

        info = super().verify(view, body)
        last = store.recent(1)[0]["id"]
        needle = f'"e":"trace.end","trace_id":"{last}"'

        def arrived() -> bool:
            return any(needle in text for text in list(self.recent))

        deadline = time.monotonic() + 3
        while not arrived() and time.monotonic() < deadline:
            time.sleep(0.01)
        expect(arrived(), f"lifecycle-live: no trace.end frame for trace {last} on the websocket "
                          f"({self.frames} frames so far, other messages {self.messages[:3]})")
        from lifecycle.publish import get_publisher

        info["ws_frames"] = self.frames
        info["publisher_stats"] = get_publisher().stats()
        info["loop_thread_cpu_ms"] = round(self.loop_cpu_ns() / 1e6)
        return info

    def close(self) -> None:
        async def stop() -> None:
            if self.reader is not None:  # else "Task was destroyed but it is pending!" at exit
                self.reader.cancel()
                await asyncio.gather(self.reader, return_exceptions=True)
            if self.communicator is not None:
                await self.communicator.disconnect()

        try:
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        except Exception:
            pass


class DebugToolbar(Tool):
    """django-debug-toolbar with its default panels; the toolbar is injected into every HTML page."""

    name = "ddt"

    def verify(self, view: str, body: bytes) -> dict[str, Any]:
        from debug_toolbar.store import get_store

        expect(b'id="djDebug"' in body, "ddt: toolbar not injected into the page")
        store = get_store()
        ids = list(store.request_ids())
        expect(bool(ids), "ddt: nothing in the toolbar store")
        sql = store.panel(ids[-1], "SQLPanel")
        queries = sql.get("queries", []) if isinstance(sql, dict) else []
        expect(len(queries) == QUERIES[view], f"ddt: SQL panel has {len(queries)} queries")
        expect(all(q.get("stacktrace") for q in queries), "ddt: queries without stack traces")
        templates = store.panel(ids[-1], "TemplatesPanel")
        return {"stored": len(ids), "templates": len(templates.get("templates", []))}


class Silk(Tool):
    """django-silk recording every request and its queries into the site's database."""

    name = "silk"

    def __init__(self) -> None:
        self.count = None

    def verify(self, view: str, body: bytes) -> dict[str, Any]:
        from silk.models import Request, SQLQuery

        last = Request.objects.order_by("-start_time").first()
        expect(last is not None, "silk: no Request row")
        expect(last.path == f"/{view}/", f"silk: last row is {last.path}")
        n = SQLQuery.objects.filter(request=last).count()
        expect(n == QUERIES[view], f"silk: {n} SQLQuery rows for the last request")
        total = Request.objects.count()
        expect(self.count is None or total > self.count, "silk: no new Request rows")
        self.count = total
        return {"requests": total}


class Otel(Tool):
    """OpenTelemetry: Django + sqlite3 instrumentation, SDK BatchSpanProcessor, InMemorySpanExporter."""

    name = "otel"

    def before_setup(self) -> None:
        from opentelemetry import trace
        from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(BatchSpanProcessor(self.exporter))
        trace.set_tracer_provider(self.provider)
        # Before any connection is opened: it wraps sqlite3.connect.
        SQLite3Instrumentor().instrument(tracer_provider=self.provider)
        self.total = 0

    def before_handler(self) -> None:
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        # Adds its middleware to settings.MIDDLEWARE: must run before the handler loads the chain.
        DjangoInstrumentor().instrument(tracer_provider=self.provider)

    def after_batch(self, view: str, n: int, last_body: bytes) -> None:
        pass

    def verify(self, view: str, body: bytes) -> dict[str, Any]:
        self.provider.force_flush()
        spans = self.exporter.get_finished_spans()
        expect(bool(spans), "otel: no spans exported")
        servers = [s for s in spans if s.kind.name == "SERVER"]
        expect(bool(servers), "otel: no server span")
        last = servers[-1]
        children = [s for s in spans if s.context.trace_id == last.context.trace_id and s is not last]
        # With DEBUG on, Django's queries log quotes parameters with an extra "SELECT QUOTE(?)" on the raw
        # sqlite3 connection (sqlite3 backend, last_executed_query): otel's sqlite3 wrapper sees those too.
        queries = [s for s in children if not str(s.attributes.get("db.statement", "")).startswith("SELECT QUOTE(")]
        expect(len(queries) == QUERIES[view], f"otel: {len(queries)} query spans under the last request span")
        self.total += len(spans)
        self.exporter.clear()
        return {"spans": len(spans), "last_request_children": len(children), "route": last.attributes.get("http.route")}

    def trim(self) -> None:
        self.provider.force_flush()
        self.total += len(self.exporter.get_finished_spans())
        self.exporter.clear()


class Kolo(Tool):
    """kolo's middleware (its profiler records every frame of the project's code and every query)."""

    name = "kolo"

    def before_setup(self) -> None:
        os.environ.setdefault("KOLO_PATH", os.environ["BENCH_TMP"])
        self.count = 0

    def _traces(self) -> list:
        from kolo.db import get_db_path, list_traces_from_db

        return list(list_traces_from_db(get_db_path(), count=100_000))

    def verify(self, view: str, body: bytes) -> dict[str, Any]:
        # kolo saves in a thread: give it a moment (untimed).
        deadline = time.monotonic() + 10
        traces = self._traces()
        while len(traces) <= self.count and time.monotonic() < deadline:
            time.sleep(0.05)
            traces = self._traces()
        expect(len(traces) > self.count, f"kolo: no new trace saved ({len(traces)} in its database)")
        self.count = len(traces)
        return {"traces": len(traces)}


class LifecycleNoStack(Lifecycle):
    """Diagnostic: ``STACK_DEPTH`` 0 (no user frames per query), to isolate the cost of stack capture."""

    name = "lifecycle-nostack"


class LifecycleNoLive(Lifecycle):
    """Diagnostic: ``LIVE_SPANS`` False (no span events for the publisher), to isolate their cost."""

    name = "lifecycle-nolive"


class LifecycleMemoryStore(Lifecycle):
    """Diagnostic: ``TRACE_STORE`` "memory" (no SQLite file written in the background), to isolate its cost."""

    name = "lifecycle-memstore"


class LifecycleIdle(Tool):
    """Diagnostic: lifecycle installed (app, middleware, every instrument) but recording nothing
    (``IGNORE_PATHS`` covers the pages): the cost of being installed, paid by requests no one records."""

    name = "lifecycle-idle"

    def verify(self, view: str, body: bytes) -> dict[str, Any]:
        from lifecycle import store

        expect(not store.recent(1), "lifecycle-idle: a trace was recorded")
        return super().verify(view, body)


class LifecyclePublisherOnce(Lifecycle):
    """Diagnostic: the publisher decides once per trace whether span events can reach anyone.

    A bench-only patch of ``Publisher.trace_started`` (lifecycle/publish.py is not the benchmark's to
    change): when no event can be delivered, the recording's listener is cleared, so the recorder calls
    nothing per span. Measures what that change to the publisher would gain.
    """

    name = "lifecycle-pubonce"

    def before_handler(self) -> None:
        from lifecycle.publish import Publisher

        original = Publisher.trace_started

        def trace_started(publisher, rec) -> None:
            original(publisher, rec)
            if rec.listener is not None and not publisher.wanted():
                rec.listener = None

        Publisher.trace_started = trace_started


TOOLS: dict[str, type[Tool]] = {t.name: t for t in (Tool, Bare2, Lifecycle, LifecycleLive, DebugToolbar, Silk,
                                                      Otel, Kolo, LifecycleNoStack, LifecycleNoLive,
                                                      LifecyclePublisherOnce, LifecycleMemoryStore, LifecycleIdle)}
PACKAGES = {"ddt": "debug_toolbar", "silk": "silk", "otel": "opentelemetry.instrumentation.django",
            "kolo": "kolo", "lifecycle-live": "channels"}
