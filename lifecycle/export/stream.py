"""Streaming finished traces to an OpenTelemetry collector over OTLP/HTTP (``LIFECYCLE["OTLP_ENDPOINT"]``).

Off by default. When set (``"http://collector:4318/v1/traces"``), :func:`trace_finished` (called by
``lifecycle.middleware.hand_on`` for every finished trace) appends the trace's JSON bytes to a bounded
queue and returns: no I/O, no conversion, one lock. A daemon thread of our own takes the queue in batches
(up to :data:`BATCH_TRACES` traces, after waiting :data:`LINGER` seconds for more), converts them to one
OTLP/JSON ``ExportTraceServiceRequest`` (``lifecycle.export.otlp``) and POSTs it with
``Content-Type: application/json`` (the OTLP/HTTP JSON encoding), with ``OTLP_HEADERS`` and a timeout of
``OTLP_TIMEOUT`` seconds.

- Bounded: at most ``OTLP_QUEUE_SIZE`` traces (and :data:`QUEUE_BYTES`) wait; past that the oldest are
  dropped and counted. A POST carries at most :data:`BATCH_TRACES` traces, :data:`BATCH_BYTES` of them.
- Failures (a refused connection, a timeout, a non-2xx answer) are counted and logged once per process,
  with the endpoint's credentials and the headers' values left out; the next attempts wait 1, 2, 4 ... up
  to 30 seconds while the queue keeps its bound. Nothing is ever raised into a request.
- The thread runs in an empty ``contextvars`` context, so lifecycle's own outbound-HTTP instrument never
  records the export into a trace.

Traces still queued when the process exits are lost; :meth:`OtlpExporter.flush` sends them now (tests, a
management command).
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import time
from collections import deque
from typing import Any

import orjson

from lifecycle import conf
from lifecycle.safety import report
from lifecycle.trace import Trace

logger = logging.getLogger("lifecycle")

BATCH_TRACES = 64
# A batch stops growing once its traces reach this many bytes of lifecycle JSON (OTLP/JSON is a few times
# larger: collectors refuse very large requests, 20 MiB by default for the Collector's OTLP receiver).
BATCH_BYTES = 2 << 20
# What waits is bounded in bytes too: past this the oldest traces are dropped, whatever OTLP_QUEUE_SIZE says.
QUEUE_BYTES = 64 << 20
LINGER = 0.5
MAX_BACKOFF = 30.0


def _load(data: bytes) -> Trace:
    """A trace this process wrote itself, read back without the schema check (it is ours, and valid)."""
    return Trace.from_valid_dict(orjson.loads(data))


class OtlpExporter:
    """The process's OTLP/HTTP sender. Counters (monotonic, this process): ``queued`` (traces accepted),
    ``sent`` (traces the collector accepted), ``batches`` (successful POSTs), ``dropped`` (pushed out of a
    full queue), ``failed`` (traces of POSTs that failed)."""

    def __init__(self) -> None:
        self._init_state()

    def _init_state(self) -> None:
        self._cond = threading.Condition()
        self._queue: deque[bytes] = deque()
        self._bytes = 0
        self._thread: threading.Thread | None = None
        self._inflight = 0
        self._flushing = 0
        self._warned = False
        self._backoff = 0.0
        self.queued = self.sent = self.batches = self.dropped = self.failed = 0
        self.last_error: str | None = None

    def stats(self) -> dict[str, Any]:
        with self._cond:
            waiting = len(self._queue)
        return {"queued": self.queued, "sent": self.sent, "batches": self.batches, "dropped": self.dropped,
                "failed": self.failed, "waiting": waiting, "last_error": self.last_error}

    # -- the request path ------------------------------------------------------------------------------

    def submit(self, data: bytes) -> None:
        """Queue one finished trace's JSON; from any thread, never blocks on I/O, never raises."""
        try:
            maxsize = max(0, int(conf.get("OTLP_QUEUE_SIZE")))
            with self._cond:
                queue = self._queue
                if not maxsize or len(data) > QUEUE_BYTES:
                    self.dropped += 1
                    return
                while queue and (len(queue) >= maxsize or self._bytes + len(data) > QUEUE_BYTES):
                    self._bytes -= len(queue.popleft())
                    self.dropped += 1
                queue.append(data)
                self._bytes += len(data)
                self.queued += 1
                if self._thread is None or not self._thread.is_alive():
                    self._start()
                self._cond.notify_all()
        except Exception as exc:
            report("queueing a trace for OTLP", exc)

    def _start(self) -> None:
        context = contextvars.Context()  # no trace of ours is current in the sender
        thread = threading.Thread(target=context.run, args=(self._run,), name="lifecycle-otlp", daemon=True)
        self._thread = thread
        thread.start()

    # -- the sender thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                batch = self._take()
                ok = self._send(batch)
            except Exception as exc:  # never let the thread die silently with traces waiting
                report("sending traces over OTLP", exc)
                ok, batch = False, []
            with self._cond:
                self._inflight = 0
                self._cond.notify_all()
                if ok:
                    self._backoff = 0.0
                else:
                    self._backoff = min(MAX_BACKOFF, max(1.0, self._backoff * 2))
                    self._cond.wait_for(lambda: self._flushing > 0, timeout=self._backoff)

    def _take(self) -> list[bytes]:
        with self._cond:
            self._cond.wait_for(lambda: bool(self._queue))
            deadline = time.monotonic() + LINGER
            while len(self._queue) < BATCH_TRACES and not self._flushing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            batch: list[bytes] = []
            size = 0
            queue = self._queue
            while queue and len(batch) < BATCH_TRACES and (not batch or size + len(queue[0]) <= BATCH_BYTES):
                data = queue.popleft()
                size += len(data)
                batch.append(data)
            self._bytes -= size
            self._inflight = len(batch)
            return batch

    def _send(self, batch: list[bytes]) -> bool:
        if not batch:
            return True
        import urllib.error
        import urllib.request

        from lifecycle.export import otlp

        endpoint = conf.get("OTLP_ENDPOINT")
        if not endpoint:  # switched off meanwhile
            return True
        body = orjson.dumps(otlp.request([_load(data) for data in batch]))
        headers = {"Content-Type": "application/json", "User-Agent": f"{otlp.SCOPE_NAME}"}
        headers.update({str(k): str(v) for k, v in (conf.get("OTLP_HEADERS") or {}).items()})
        req = urllib.request.Request(str(endpoint), data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=float(conf.get("OTLP_TIMEOUT"))) as response:
                response.read()
                status = response.status
            if not 200 <= status < 300:
                raise urllib.error.HTTPError(str(endpoint), status, "not a 2xx answer", response.headers, None)
        except Exception as exc:
            self._failed(len(batch), endpoint, exc)
            return False
        with self._cond:
            self.sent += len(batch)
            self.batches += 1
        return True

    def _failed(self, n: int, endpoint: str, exc: BaseException) -> None:
        import urllib.error

        from lifecycle import redact

        reason = f"HTTP {exc.code}" if isinstance(exc, urllib.error.HTTPError) else type(exc).__name__
        if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
            reason = f"{type(exc.reason).__name__}: {exc.reason}" if exc.reason else reason
        with self._cond:
            self.failed += n
            self.last_error = reason
            first = not self._warned
            self._warned = True
        if first:
            # The endpoint without its credentials; the headers (OTLP_HEADERS: API keys) are never logged.
            logger.warning(
                "django-request-lifecycle: could not send %d trace(s) to the OTLP endpoint %s (%s). Requests are "
                "not affected; traces are retried after a pause and dropped past OTLP_QUEUE_SIZE. Further "
                "failures are counted, not logged.", n, redact.url(str(endpoint)), reason,
            )

    # -- tests and commands ----------------------------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> bool:
        """Send what is queued now (skipping the linger and any pause after a failure); True when nothing
        is left waiting or in flight within ``timeout`` seconds."""
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: not self._queue and not self._inflight, timeout=timeout)
            finally:
                self._flushing -= 1

    def reset(self) -> None:
        """Forget what waits and zero the counters (tests); the thread, if any, keeps running."""
        with self._cond:
            self._queue.clear()
            self._bytes = 0
            self._warned = False
            self._backoff = 0.0
            self.queued = self.sent = self.batches = self.dropped = self.failed = 0
            self.last_error = None

    def _after_fork(self) -> None:
        # The child has no sender thread, and the lock may have been held by a thread that does not exist.
        self._init_state()


_exporter = OtlpExporter()
os.register_at_fork(after_in_child=_exporter._after_fork)


def exporter() -> OtlpExporter:
    return _exporter


def trace_finished(data: bytes) -> None:
    """The end of a trace (``hand_on``): one settings lookup when ``OTLP_ENDPOINT`` is unset."""
    if conf.get("OTLP_ENDPOINT"):
        _exporter.submit(data)
