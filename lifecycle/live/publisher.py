"""Publishing live events to the dashboards: a bounded, non-blocking queue drained on an event loop.

The middleware hands us three kinds of events (``trace.start``, ``span.start``/``span.end``,
``trace.end``) from wherever the request runs: the server's event loop (async views), a worker thread
(sync views under ASGI: Django gives each request a fresh thread), or a plain thread (WSGI, commands).
They reach the dashboards through the channel layer group :data:`GROUP` as ``lifecycle.events``
messages, which :class:`lifecycle.live.consumer.DashboardConsumer` forwards to its websocket.

:class:`Publisher` is made of one part per concern, each in its module with its reasons:

- ``lifecycle.live.layer``: which channel layer (from the settings; Channels is optional);
- ``lifecycle.live.loops``: which event loop drains (bound, running, asgiref's, our own thread);
- ``lifecycle.live.queue``: the bounded queue, the drain task, batches and counters;
- ``lifecycle.live.encoding``: what the events carry (:func:`live_span`) and the batches' JSON.

Cheap when nobody listens: with the in-memory layer and no dashboard connected to this process, events
are not even built (:meth:`Publisher.wanted`).
"""

from __future__ import annotations

import os
from typing import Any

from lifecycle import conf
from lifecycle.live.encoding import live_span
from lifecycle.live.layer import _NONE, _REMOTE, GROUP, MESSAGE_TYPE, ChannelLayerChoice
from lifecycle.live.loops import LoopChoice
from lifecycle.live.queue import BATCH_BYTES, BATCH_EVENTS, EventQueue
from lifecycle.safety import report

__all__ = ["BATCH_BYTES", "BATCH_EVENTS", "GROUP", "MESSAGE_TYPE", "Publisher", "get_publisher", "live_span"]


class Publisher(ChannelLayerChoice, LoopChoice, EventQueue):
    """The process-global publisher.

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
        self._init_queue()
        self._init_loops()
        self._layer: Any = None
        self._kind: int | None = None
        self.listeners = 0

    def _after_fork(self) -> None:
        # The child has no publisher thread and no running loop, and the lock may have been held by a
        # thread that does not exist here: start afresh (counters too: they describe this process).
        self._init_state()
        self.source = os.urandom(4).hex()

    # -- publishing --------------------------------------------------------------------------------------

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
