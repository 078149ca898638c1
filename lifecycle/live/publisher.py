"""Publishing live events to the dashboards: a bounded, non-blocking queue drained on an event loop.

The middleware hands us three kinds of events (``trace.start``, ``span.start``/``span.end``,
``trace.end``) from wherever the request runs: the server's event loop (async views), a worker thread
(sync views under ASGI: Django gives each request a fresh thread), or a plain thread (WSGI, commands).
They reach the dashboards through the channel layer group :data:`GROUP` as ``lifecycle.events``
messages, which :class:`lifecycle.live.consumer.DashboardConsumer` forwards to its websocket.

How an event travels, and why (measured with ``bench/stream.py``)
------------------------------------------------------------------
1. :meth:`Publisher.publish` never awaits, never calls ``async_to_sync`` and never does I/O. Under one
   ``threading.Lock`` it appends the event to a ``deque``; when the deque holds ``PUBLISH_QUEUE_SIZE``
   events the oldest one is dropped and counted (``dropped``). If no drain is pending on the target loop,
   it schedules one with ``loop.call_soon_threadsafe``, the only asyncio call that is safe from another
   thread. So a request pays a few microseconds per event, whatever the dashboards do, and memory is
   bounded by the queue size.
2. The drain task runs on that loop: it sleeps ``PUBLISH_LINGER`` seconds so that events batch up, then
   sends them in batches of at most :data:`BATCH_EVENTS` events with ``await layer.group_send(...)``.
   When the deque is empty it clears the pending mark under the same lock that ``publish`` takes, so a
   wake-up is never lost. One message per batch keeps the channel layer far below its capacity limits.
3. Which loop. asyncio objects (and ``InMemoryChannelLayer``'s queues) belong to one loop and must only
   be touched from it: driving the in-memory layer from a second loop leaves the consumer's waiter
   un-woken (messages arrive only when some unrelated timer fires, or never). So the drain runs on
   the first of:

   - the loop *bound* by :meth:`Publisher.bind_loop`: ``DashboardConsumer.connect`` binds its own loop
     (the loop where the dashboards' in-memory queues live), and the middleware's async path binds the
     server's loop if nothing is bound yet;
   - the loop running in the calling thread (async views);
   - ``SyncToAsync.threadlocal.main_event_loop``: asgiref records, in each worker thread of
     ``sync_to_async``, the loop that is waiting for it (sync views under ASGI), if it belongs to this
     process and is not closed;
   - otherwise no loop exists in this process (WSGI, management commands). With a cross-process layer
     (``channels_redis``) one daemon thread is started lazily with its own loop and drains there; it is
     re-created after a fork. With ``InMemoryChannelLayer`` nobody outside this process could hear us,
     so the events are counted as ``undeliverable`` and a warning is logged once.

   Only a running loop is chosen: a bound loop that has stopped or closed (tests, a restarted server)
   is passed over, and a drain pending on such a loop is started again on the next one.
4. Channels is optional (the ``[live]`` extra): nothing here imports it until a layer is built, and when
   it is not installed nothing is published, whatever ``CHANNEL_LAYERS`` says (a warning is logged once).
5. Cheap when nobody listens: with the in-memory layer and no dashboard connected to this process, events
   are not even built. ``CHANNEL_LAYER`` set to None, or an alias without a layer, means no broadcast.

A batch travels as one JSON array in bytes (``events_json``), serialized once by the drain; the finished
trace, already JSON bytes (the store keeps them), is embedded in it unparsed with ``orjson.Fragment``, and
the consumer embeds the array in its frame the same way.

Events still in the deque when the process exits are lost; the dashboards' backlog (the recent-trace
store of the process they are connected to) covers finished traces.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections import deque
from importlib.util import find_spec
from typing import Any

import orjson
from asgiref.sync import SyncToAsync

from lifecycle import conf, nplusone
from lifecycle.safety import report

logger = logging.getLogger("lifecycle")

GROUP = "lifecycle"
MESSAGE_TYPE = "lifecycle.events"
BATCH_EVENTS = 200
# A batch also stops growing once the finished traces in it reach this many bytes.
BATCH_BYTES = 1 << 20

_LOCAL_BACKENDS = frozenset({"channels.layers.InMemoryChannelLayer"})
_NONE, _LOCAL, _REMOTE = 0, 1, 2

# Span attributes sent while a request runs. Raw SQL parameters and frame tuples are only redacted and
# formatted when the trace finishes (lifecycle.summary.finalize), so they wait for ``trace.end``.
_LIVE_ATTRS: dict[str, tuple[str, ...]] = {
    "sql": ("sql", "alias", "vendor", "rows", "many", "transaction"),
    "exception": ("type", "message", "handled"),
}
_PLAIN = frozenset({int, float, bool, type(None)})
_SKIP = object()
_MAX_LIVE_STRING = 4000


class Publisher:
    """The process-global publisher (see the module docstring for the loop rules).

    Counters, all monotonic, for the API, the dashboard and tests: ``published`` (events accepted into
    the queue), ``sent`` (events handed to the channel layer), ``batches`` (``group_send`` calls),
    ``dropped`` (pushed out of a full queue), ``undeliverable`` (no loop could carry them, in-memory layer
    only), ``failed`` (a ``group_send`` raised). :attr:`dropped_events` is what dashboards are shown.
    """

    def __init__(self) -> None:
        self.source = os.urandom(4).hex()
        self._init_state()
        self._warned_undeliverable = False
        self._warned_no_channels = False
        conf.on_reset(self.reset_settings)

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[dict[str, Any]] = deque()
        self._pending: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._thread_lock = threading.Lock()
        self._layer: Any = None
        self._kind: int | None = None
        self._maxsize: int | None = None
        self.listeners = 0
        self.published = self.sent = self.batches = 0
        self.dropped = self.undeliverable = self.failed = 0

    # -- configuration -----------------------------------------------------------------------------------

    def reset_settings(self) -> None:
        """Forget what was derived from the settings (called when LIFECYCLE or CHANNEL_LAYERS change)."""
        self._kind = None
        self._layer = None
        self._maxsize = None

    def _layer_kind(self) -> int:
        """None / in-memory / cross-process, from the settings alone: no import, no I/O."""
        kind = self._kind
        if kind is None:
            from django.conf import settings

            alias = conf.get("CHANNEL_LAYER")
            layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
            backend = (layers.get(alias) or {}).get("BACKEND") if alias is not None else None
            if not backend:
                kind = _NONE
            elif find_spec("channels") is None:
                kind = _NONE  # checked once per settings change, not per event
                self._warn_no_channels(backend)
            elif backend in _LOCAL_BACKENDS:
                kind = _LOCAL
            else:
                kind = _REMOTE
            self._kind = kind
        return kind

    def _warn_no_channels(self, backend: str) -> None:
        if not self._warned_no_channels:
            self._warned_no_channels = True
            logger.warning(
                "django-request-lifecycle: CHANNEL_LAYERS names %s but Django Channels is not installed, so live "
                "events are not published (the dashboard page still lists the recent traces). "
                'pip install "django-request-lifecycle[live]" for the live dashboard.', backend,
            )

    def channel_layer(self) -> Any:
        """The channel layer we publish to, or None (resolved once; the first call may import it)."""
        if self._layer is None and self._layer_kind() != _NONE:
            from channels.layers import InMemoryChannelLayer, get_channel_layer

            layer = get_channel_layer(conf.get("CHANNEL_LAYER"))
            if layer is None:
                self._kind = _NONE
            else:
                # A subclass of the in-memory layer named by its own path is still process-local.
                self._kind = _LOCAL if isinstance(layer, InMemoryChannelLayer) else _REMOTE
            self._layer = layer
        return self._layer

    @property
    def maxsize(self) -> int:
        if self._maxsize is None:
            self._maxsize = max(0, int(conf.get("PUBLISH_QUEUE_SIZE")))
        return self._maxsize

    @property
    def dropped_events(self) -> int:
        return self.dropped + self.undeliverable + self.failed

    def stats(self) -> dict[str, int]:
        with self._lock:
            queued = len(self._queue)
        return {
            "published": self.published, "sent": self.sent, "batches": self.batches,
            "dropped": self.dropped, "undeliverable": self.undeliverable, "failed": self.failed,
            "queued": queued, "listeners": self.listeners, "dropped_events": self.dropped_events,
        }

    # -- loops -------------------------------------------------------------------------------------------

    def bind_loop(self, loop: asyncio.AbstractEventLoop | None = None, *, strong: bool = True) -> None:
        """Drain on ``loop`` (default: the running loop). ``strong=False`` only binds if no live loop is
        bound: the middleware uses it, the consumer binds strongly because the dashboards' in-memory
        queues live on its loop."""
        if loop is None:
            loop = asyncio.get_running_loop()
        current = self._loop
        if strong or current is None or not current.is_running():
            self._loop = loop

    def bind_running_loop(self) -> None:
        """Weakly bind the running loop; for the middleware's async path. Cheap, never raises."""
        current = self._loop
        if current is None or not current.is_running():
            loop = asyncio._get_running_loop()
            if loop is not None:
                self._loop = loop

    def _target_loop(self) -> asyncio.AbstractEventLoop | None:
        # Only a running loop will ever run the drain: a stopped one (asgiref never clears its
        # threadlocal, tests leave loops behind) would keep the drain pending for good.
        loop = self._loop
        if loop is not None and loop.is_running():
            return loop
        loop = asyncio._get_running_loop()
        if loop is not None:
            return loop
        # The thread's own dict of asgiref's threading.local: getattr with a default raises and swallows an
        # AttributeError in every thread that never ran async_to_sync (1.4 µs against 0.15 µs).
        state = SyncToAsync.threadlocal.__dict__
        loop = state.get("main_event_loop")
        if loop is not None and state.get("main_event_loop_pid") == os.getpid() and loop.is_running():
            return loop
        return None

    def _publisher_thread_loop(self) -> asyncio.AbstractEventLoop:
        """The loop of our own daemon thread, started on first use (and again in a forked child)."""
        loop = self._thread_loop
        if loop is not None and self._thread is not None and self._thread.is_alive():
            return loop
        with self._thread_lock:
            if self._thread_loop is None or self._thread is None or not self._thread.is_alive():
                loop = asyncio.new_event_loop()
                running = threading.Event()
                loop.call_soon(running.set)
                thread = threading.Thread(target=_run_forever, args=(loop,), name="lifecycle-publisher",
                                          daemon=True)
                thread.start()
                running.wait(1)  # once per process: later publishes see a running loop
                self._thread_loop, self._thread = loop, thread
            return self._thread_loop

    def _after_fork(self) -> None:
        # The child has no publisher thread and no running loop, and the lock may have been held by a
        # thread that does not exist here: start afresh (counters too: they describe this process).
        self._init_state()
        self.source = os.urandom(4).hex()

    # -- publishing --------------------------------------------------------------------------------------

    def has_layer(self) -> bool:
        """Whether live events have a channel layer to go to (Channels installed, a layer configured for
        lifecycle): the dashboard opens its websocket only then."""
        return self._layer_kind() != _NONE

    def wanted(self) -> bool:
        """False when an event could reach nobody, so that it is not even built."""
        kind = self._kind if self._kind is not None else self._layer_kind()
        if kind == _REMOTE:
            return True
        if kind == _NONE:
            return False
        if self.listeners:
            return True
        if self._target_loop() is None:
            self._undeliverable(1)
        return False

    def publish(self, event: dict[str, Any]) -> None:
        """Queue ``event`` for the dashboards; from any thread, never blocks, never raises."""
        try:
            kind = self._kind if self._kind is not None else self._layer_kind()
            if kind == _NONE:
                return
            loop = self._target_loop()
            if loop is None:
                if kind == _LOCAL:
                    self._undeliverable(1)
                    return
                loop = self._publisher_thread_loop()
            elif kind == _LOCAL and not self.listeners:
                return
            maxsize = self.maxsize
            with self._lock:
                queue = self._queue
                if len(queue) >= maxsize:
                    if not maxsize:
                        self.dropped += 1
                        return
                    queue.popleft()
                    self.dropped += 1
                queue.append(event)
                self.published += 1
                pending = self._pending
                kick = pending is None or not pending.is_running()
                if kick:
                    self._pending = loop
            if kick:
                try:
                    loop.call_soon_threadsafe(self._start_drain, loop)
                except RuntimeError:  # closed between the check and the call
                    with self._lock:
                        if self._pending is loop:
                            self._pending = None
        except Exception as exc:
            report("publishing an event", exc)

    def _undeliverable(self, n: int) -> None:
        with self._lock:
            self.undeliverable += n
        if not self._warned_undeliverable:
            self._warned_undeliverable = True
            logger.warning(
                "django-request-lifecycle: live events cannot reach the dashboard from this process: it runs "
                "no event loop (WSGI or a command) and the channel layer is InMemoryChannelLayer, which only "
                "reaches consumers in the same process. Serve the site with an ASGI server (daphne), or use "
                "channels_redis' RedisPubSubChannelLayer. Further events are counted, not logged."
            )

    def _start_drain(self, loop: asyncio.AbstractEventLoop) -> None:
        # The loop keeps only weak references to its tasks: hold this one until it is done.
        task = loop.create_task(self._drain(loop))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            while True:
                await asyncio.sleep(max(0.0, float(conf.get("PUBLISH_LINGER"))))
                with self._lock:
                    n = len(self._queue)
                    if not n:
                        self._pending = None
                        return
                    target = self._target_loop()
                    if target is not loop and target is not None:
                        # Another loop was bound meanwhile (a consumer connected on it): the in-memory
                        # layer must be driven from there, so hand the queue over.
                        self._pending = target
                        target.call_soon_threadsafe(self._start_drain, target)
                        return
                while n > 0:
                    batch = self._take(min(n, BATCH_EVENTS))
                    if not batch:
                        break
                    n -= len(batch)
                    await self._send(batch)
        except asyncio.CancelledError:
            self._drain_ended(loop)
            raise
        except Exception as exc:
            self._drain_ended(loop)
            report("draining the publisher queue", exc)

    def _drain_ended(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            if self._pending is loop:
                self._pending = None

    def _take(self, limit: int) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        size = 0
        with self._lock:
            queue = self._queue
            while queue and len(batch) < limit and size < BATCH_BYTES:
                event = queue.popleft()
                data = event.get("trace_json")
                if data is not None:
                    size += len(data)
                batch.append(event)
        return batch

    async def _send(self, batch: list[dict[str, Any]]) -> None:
        try:
            layer = self._layer
            if layer is None:
                if self._layer_kind() == _REMOTE:
                    # Building a Redis layer imports channels_redis and redis (~0.25 s): not on the loop.
                    layer = await asyncio.to_thread(self.channel_layer)
                else:
                    layer = self.channel_layer()  # the in-memory layer: cheap, and must be channels' own
            if layer is None:
                return
            # Serialized once here: the in-memory layer deep-copies a message for every member and Redis
            # packs it, and both are cheap for one bytes object, costly for hundreds of small dicts.
            events_json = orjson.dumps([_wire(event) for event in batch])
            await layer.group_send(GROUP, {
                "type": MESSAGE_TYPE, "events_json": events_json, "count": len(batch),
                "dropped_events": self.dropped_events, "source": self.source,
            })
            with self._lock:
                self.sent += len(batch)
                self.batches += 1
        except Exception as exc:
            with self._lock:
                self.failed += len(batch)
            report("sending events to the channel layer", exc)

    # -- the middleware's interface ----------------------------------------------------------------------

    def trace_started(self, rec) -> None:
        try:
            if not conf.get("LIVE_SPANS") or not self.wanted():
                # Nobody can hear this trace's span events: stop the recording from calling us per span
                # (a dashboard that connects mid-request still gets the finished trace).
                rec.listener = None
                return
            trace = rec.trace
            self.publish({"e": "trace.start", "trace_id": trace.id, "row": trace.row()})
        except Exception as exc:
            report("publishing trace.start", exc)

    def span_event(self, event: str, rec, span) -> None:
        """The recording's listener: ``event`` is "span.start" or "span.end"."""
        try:
            if not self.wanted():
                return
            self.publish({"e": event, "trace_id": rec.trace.id, "span": live_span(span)})
        except Exception as exc:
            report("publishing a span event", exc)

    def trace_finished(self, trace, data: bytes, row: dict[str, Any] | None = None) -> None:
        """``data`` is the trace's JSON; ``row`` its list row if the caller has it already."""
        try:
            if not self.wanted():
                return
            self.publish({"e": "trace.end", "trace_id": trace.id, "row": row if row is not None else trace.row(),
                          "trace_json": data})
        except Exception as exc:
            report("publishing trace.end", exc)

    # -- tests -------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Empty the queue and zero the counters (tests). The bound loop and the thread are kept."""
        with self._lock:
            self._queue.clear()
            self._pending = None
            self.published = self.sent = self.batches = 0
            self.dropped = self.undeliverable = self.failed = 0
        self._warned_undeliverable = False
        self._warned_no_channels = False
        self.reset_settings()


def live_span(span) -> dict[str, Any]:
    """What a span event carries: the span, with only the attributes that are safe before finalize."""
    attrs = span.attrs
    keys = _LIVE_ATTRS.get(span.kind, attrs)
    safe: dict[str, Any] = {}
    for key in keys:
        value = attrs.get(key, _SKIP)
        cls = type(value)
        if cls is str:
            if len(value) > _MAX_LIVE_STRING:
                value = value[:_MAX_LIVE_STRING]
        elif cls not in _PLAIN:
            if not isinstance(value, str):
                continue  # absent, or not JSON-safe yet (raw parameters, frame tuples...)
            value = str.__str__(value)[:_MAX_LIVE_STRING]  # SafeString and other str subclasses
        safe[key] = value
    if span.kind == "sql" and "transaction" not in safe and span.duration_ns is not None:
        # A savepoint's span is marked after it ends (lifecycle.instruments.transactions); its text says so.
        sql = safe.get("sql")
        if type(sql) is str and nplusone.is_transaction_control(sql):
            safe["transaction"] = True
    name = span.name
    return {
        "id": span.id, "parent_id": span.parent_id, "kind": span.kind,
        "name": name if type(name) is str else str.__str__(str(name)),
        "start_ns": span.start_ns, "duration_ns": span.duration_ns, "attrs": safe,
    }


def _wire(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("trace_json")
    if data is None:
        return event
    wire = {k: v for k, v in event.items() if k != "trace_json"}
    wire["trace"] = orjson.Fragment(data)  # already JSON: embedded as is, not parsed and dumped again
    return wire


def _run_forever(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    loop.run_forever()


_publisher = Publisher()
os.register_at_fork(after_in_child=_publisher._after_fork)


def get_publisher() -> Publisher:
    return _publisher


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "CHANNEL_LAYERS":
        _publisher.reset_settings()


def _connect_signals() -> None:
    from django.core.signals import setting_changed

    setting_changed.connect(_on_setting_changed, dispatch_uid="lifecycle.publish")


_connect_signals()
