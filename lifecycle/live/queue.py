"""The publisher's bounded queue and its drain task: how an event travels (measured with
``bench/stream.py``).

1. :meth:`EventQueue.publish` never awaits, never calls ``async_to_sync`` and never does I/O. Under one
   ``threading.Lock`` it appends the event to a ``deque``; when the deque holds ``PUBLISH_QUEUE_SIZE``
   events the oldest one is dropped and counted (``dropped``). If no drain is pending on the target loop
   (``lifecycle.live.loops``), it schedules one with ``loop.call_soon_threadsafe``, the only asyncio call
   that is safe from another thread. So a request pays a few microseconds per event, whatever the
   dashboards do, and memory is bounded by the queue size.
2. The drain task runs on that loop: it sleeps ``PUBLISH_LINGER`` seconds so that events batch up, then
   sends them in batches of at most :data:`BATCH_EVENTS` events with ``await layer.group_send(...)``.
   When the deque is empty it clears the pending mark under the same lock that ``publish`` takes, so a
   wake-up is never lost. One message per batch keeps the channel layer far below its capacity limits.

Events still in the deque when the process exits are lost; the dashboards' backlog (the recent-trace
store of the process they are connected to) covers finished traces.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from lifecycle import conf
from lifecycle.live.encoding import batch_json
from lifecycle.live.layer import _LOCAL, _NONE, _REMOTE, GROUP, MESSAGE_TYPE
from lifecycle.safety import report

logger = logging.getLogger("lifecycle")

BATCH_EVENTS = 200
# A batch also stops growing once the finished traces in it reach this many bytes.
BATCH_BYTES = 1 << 20


class EventQueue:
    """The queue, the drain and their counters (see :class:`lifecycle.live.publisher.Publisher`)."""

    if TYPE_CHECKING:  # the publisher's other seams (lifecycle.live.layer, lifecycle.live.loops)
        _kind: int | None
        _layer: Any
        _warned_undeliverable: bool
        listeners: int
        source: str

        def _layer_kind(self) -> int: ...
        def channel_layer(self) -> Any: ...
        def _target_loop(self) -> asyncio.AbstractEventLoop | None: ...
        def _publisher_thread_loop(self) -> asyncio.AbstractEventLoop: ...

    def _init_queue(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[dict[str, Any]] = deque()
        self._pending: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task] = set()
        self._maxsize: int | None = None
        self.published = self.sent = self.batches = 0
        self.dropped = self.undeliverable = self.failed = 0

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
                    # In a context of its own: the caller's (a trace being recorded) must not be the drain's,
                    # or lifecycle's own channel layer calls would be recorded in that trace.
                    loop.call_soon_threadsafe(self._start_drain, loop, context=contextvars.Context())
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
            events_json = batch_json(batch)
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
