"""The recorder: the trace being recorded lives in a ContextVar, spans are added by instruments.

Two context variables carry the state. ``_recording`` holds the :class:`Recording` of the current
request; ``_parent`` holds the innermost open span. Both are copied into ``sync_to_async`` threads and
asyncio tasks, so concurrent requests never mix and concurrent tasks of one request each nest their own
spans correctly. Outside a request both are ``None``: instruments read one ContextVar and return.

Instruments use the two shapes below; both must be cheap, because they run for every query:

    rec = current()
    if rec is None: ...            # not recording: do the plain thing
    span = rec.begin("sql", name, attrs)   # a leaf: does not become the parent of later spans
    ... rec.end(span)

    span, token = rec.push("template", name, attrs)   # a container: later spans nest inside
    try: ... finally: rec.pop(span, token)

``begin``/``push`` return ``None`` spans once ``MAX_SPANS`` is reached; ``end``/``pop`` accept them.

Every call into the recorder, before and after the host's own call, is inside ``try``/``except`` that
hands the failure to ``lifecycle.safety.report``; the host's call is not, and runs exactly once, so that its
return value and its exceptions are what they are without us (``tests/instruments/test_boundary.py``).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from contextvars import ContextVar, Token
from time import gmtime, perf_counter_ns, strftime, time_ns
from typing import Any

from lifecycle.safety import report
from lifecycle.trace import Span, Trace

_recording: ContextVar[Recording | None] = ContextVar("lifecycle_recording", default=None)
_parent: ContextVar[Span | None] = ContextVar("lifecycle_parent", default=None)

# Listener called as listener(event, recording, span) for "span.start" and "span.end".
Listener = Callable[[str, "Recording", Span], None]



def new_trace_id() -> str:
    """16 hex characters, all 64 bits random: one trace's id tells nothing of another's."""
    return os.urandom(8).hex()


def current() -> Recording | None:
    return _recording.get()


def clear_current() -> None:
    """No recording (and no open span) in this context any more."""
    _parent.set(None)
    _recording.set(None)


class Recording:
    """The mutable state of one trace while it is recorded."""

    __slots__ = ("trace", "t0", "_next_id", "max_spans", "dropped", "listener", "_lock", "_finished",
                 "request_span", "_tokens", "anchors", "secrets", "exceptions", "params_ids")

    def __init__(self, kind: str = "request", name: str = "", attrs: dict[str, Any] | None = None, *,
                 max_spans: int = 5000, listener: Listener | None = None) -> None:
        self.t0 = perf_counter_ns()
        self.trace = Trace(new_trace_id(), _utcnow())
        self._next_id = itertools.count()
        self.max_spans = max_spans
        self.dropped = 0
        self.listener = listener
        self._finished = False
        self._tokens: tuple[Token, Token] | None = None
        # User frames above the template renders running now, for stack walks (lifecycle.frames).
        self.anchors: dict[int, tuple] = {}
        # Secret values met while recording (URL arguments with secret names, values marked by the view's
        # sensitive_* decorators): replaced wherever else they appear when the trace is finalized.
        self.secrets: list[str] = []
        # Exceptions already recorded, by id (the exception kept so that its id cannot be reused): one
        # leaving several layers gets one span, and the user's exception object is never marked.
        self.exceptions: dict[int, BaseException] = {}
        # The parameter sets of statements whose parameters are redacted, numbered as first seen: the trace
        # shows the number (``params_id``), so that the N+1 rule can tell a loop over users (different ids)
        # from the same lookup repeated. The values stay here, in memory, until the recording is dropped.
        self.params_ids: dict[Any, int] = {}
        self.request_span = Span(next(self._next_id), None, kind, name, 0, None, attrs or {})
        self.trace.spans.append(self.request_span)

    # -- activation ------------------------------------------------------------------------------------

    def activate(self) -> None:
        """Make this the current recording of this context (and its request span the parent)."""
        self._tokens = (_recording.set(self), _parent.set(self.request_span))

    def deactivate(self) -> None:
        if self._tokens is not None:
            rec_token, parent_token = self._tokens
            self._tokens = None
            try:
                _parent.reset(parent_token)
                _recording.reset(rec_token)
            except ValueError:
                # Reset from another context (a response closed by the server in another task):
                # clearing is what resetting would have done.
                clear_current()

    # -- spans -----------------------------------------------------------------------------------------

    def begin(self, kind: str, name: str, attrs: dict[str, Any] | None = None) -> Span | None:
        try:
            spans = self.trace.spans
            if len(spans) >= self.max_spans or self._finished:
                self.dropped += 1
                return None
            parent = _parent.get()
            span = Span(next(self._next_id), parent.id if parent is not None else 0, kind, name,
                        perf_counter_ns() - self.t0, None, attrs if attrs is not None else {})
            spans.append(span)
            return span
        except Exception as exc:  # a span lost, never a request
            report("recording a span", exc)
            return None

    def end(self, span: Span | None) -> None:
        if span is not None and span.duration_ns is None:
            span.duration_ns = perf_counter_ns() - self.t0 - span.start_ns
            if self.listener is not None:
                try:
                    self.listener("span.end", self, span)
                except Exception as exc:
                    report("publishing a span", exc)

    def push(self, kind: str, name: str, attrs: dict[str, Any] | None = None) -> tuple[Span | None, Token | None]:
        span = self.begin(kind, name, attrs)
        if span is None:
            return None, None
        if self.listener is not None:
            try:
                self.listener("span.start", self, span)
            except Exception as exc:
                report("publishing a span", exc)
        return span, _parent.set(span)

    def pop(self, span: Span | None, token: Token | None) -> None:
        if token is not None:
            try:
                _parent.reset(token)
            except ValueError:
                pass  # popped in another context than pushed; the pushing context is gone anyway
        self.end(span)

    def event(self, kind: str, name: str, attrs: dict[str, Any] | None = None) -> Span | None:
        """A zero-length span (an exception, a signal) under the current parent."""
        span = self.begin(kind, name, attrs)
        if span is not None:
            span.duration_ns = 0
            if self.listener is not None:
                try:
                    self.listener("span.end", self, span)
                except Exception as exc:
                    report("publishing a span", exc)
        return span

    def elapsed_ns(self) -> int:
        return perf_counter_ns() - self.t0

    # -- end -------------------------------------------------------------------------------------------

    def finish(self) -> Trace:
        """Close the trace (idempotent): end the spans still open. ``lifecycle.summary.finalize`` then
        turns raw attributes into their JSON form and computes the summary."""
        trace = self.trace
        if self._finished:
            return trace
        self._finished = True
        now = perf_counter_ns() - self.t0
        for span in trace.spans:
            if span.duration_ns is None:
                span.duration_ns = max(0, now - span.start_ns)
        trace.duration_ns = self.request_span.duration_ns
        if self.dropped:
            trace.dropped = {"spans": self.dropped, "reason": f"MAX_SPANS ({self.max_spans}) reached"}
        return trace


_second: tuple[int, str] = (-1, "")


def _utcnow() -> str:
    """Wall clock, UTC, ``2026-01-31T12:00:00.123456Z``.

    ``datetime.strftime`` cost 3-4 µs a call (0.4% of a recorded request in the profile); the seconds
    part is formatted once per second instead (a tuple swapped whole, so threads never see half of it).
    """
    global _second
    ns = time_ns()
    sec, rest = divmod(ns, 1_000_000_000)
    cached = _second
    if cached[0] != sec:
        cached = _second = (sec, strftime("%Y-%m-%dT%H:%M:%S", gmtime(sec)))
    return f"{cached[1]}.{rest // 1000:06d}Z"
