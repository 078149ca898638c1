"""The recent-trace store: this process's newest traces in memory, in front of a store shared by every process.

Each process keeps its newest ``RECENT_TRACES`` traces as JSON bytes plus their list row (bytes rather than
live objects: a buffer of trace graphs gives the garbage collector hundreds of objects per request to scan,
and the dashboard needs JSON anyway). Behind it, the backend that ``LIFECYCLE["TRACE_STORE"]`` names
(``lifecycle.stores``: a SQLite file by default, Redis, or memory only) keeps the traces of every process
that shares it, across restarts.

The request path stays cheap: :func:`add` puts the trace in memory and queues it for the backend's writer
thread; it never waits for a disk or Redis. Reads see what this process just added at once (from memory)
and the other processes' traces through the backend. A clear, from any process, hides this process's
older traces too (the backend's ``cleared_at``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from lifecycle import conf
from lifecycle.safety import report
from lifecycle.stores import Entry, StoreError, TraceStore, from_settings
from lifecycle.stores.memory import MemoryStore
from lifecycle.trace import Trace

__all__ = ["RecentTraces", "StoreError", "add", "backend", "backend_error", "clear", "flush", "get", "get_json",
           "recent", "size", "stats"]


class RecentTraces:
    """The memory of one process in front of ``backend`` (None: the one the settings name, made on first use
    and again after ``LIFECYCLE`` changes)."""

    def __init__(self, backend: TraceStore | None = None) -> None:
        self._lock = threading.Lock()
        self._ring: OrderedDict[str, tuple[float, dict[str, Any], bytes]] = OrderedDict()
        self._configured = backend is None
        self._backend = backend
        #: Why the configured backend could not be made (its traces are then kept in memory only).
        self.backend_error: str | None = None

    @property
    def backend(self) -> TraceStore:
        backend = self._backend
        if backend is None:
            with self._lock:
                if self._backend is None:
                    try:
                        self._backend, self.backend_error = from_settings(), None
                    except Exception as exc:  # lifecycle.E010 tells the developer; requests go on
                        report("opening the trace store", exc)
                        self._backend, self.backend_error = MemoryStore(), str(exc)
                backend = self._backend
        return backend

    def reset_backend(self) -> None:
        """Close the backend; the next use makes the one the settings name now."""
        if not self._configured:
            return
        with self._lock:
            old, self._backend = self._backend, None
        if old is not None:
            old.close()

    # -- the request path ---------------------------------------------------------------------------------

    def add(self, trace: Trace, data: bytes | None = None) -> dict[str, Any]:
        """Keep ``trace`` (``data``: its JSON, if already made); returns its list row."""
        row = trace.row()
        data = data if data is not None else trace.to_json()
        added_at = time.time()
        limit = max(0, conf.get("RECENT_TRACES"))
        with self._lock:
            self._ring[trace.id] = (added_at, row, data)
            while len(self._ring) > limit:
                self._ring.popitem(last=False)
        try:
            self.backend.submit(Entry(trace.id, added_at, row, data))
        except Exception as exc:
            report("queueing a trace for the trace store", exc)
        return row

    # -- reading ------------------------------------------------------------------------------------------

    def recent(self, limit: int | None = None) -> list[dict[str, Any]]:
        """List rows, newest first: this process's and, from the backend, the other processes'. A backend
        that cannot be read is reported (once) and leaves this process's rows."""
        most = max(0, conf.get("RECENT_TRACES"))
        want = most if limit is None else max(0, min(limit, most))
        cutoff = _cutoff()
        with self._lock:
            mine = [(added_at, row) for added_at, row, _ in reversed(self._ring.values()) if added_at >= cutoff]
        backend = self.backend
        if not backend.shared:
            return [row for _, row in mine[:want]]
        try:
            cleared_at = backend.cleared_at()
            theirs = backend.recent(want)
        except StoreError as exc:
            report("reading the trace store", exc)
            cleared_at, theirs = 0.0, []
        merged: dict[str, tuple[float, dict[str, Any]]] = {}
        for added_at, row in mine:
            if added_at > cleared_at:
                merged[row["id"]] = (added_at, row)
        for added_at, row in theirs:
            merged.setdefault(row["id"], (added_at, row))
        newest = sorted(merged.values(), key=lambda item: item[0], reverse=True)
        return [row for _, row in newest[:want]]

    def get_json(self, trace_id: str) -> bytes | None:
        """The trace's JSON, None when no process sharing the store kept it; :class:`StoreError` when the
        backend cannot be read or holds something else than a trace under ``trace_id``."""
        with self._lock:
            entry = self._ring.get(trace_id)
        backend = self.backend
        if entry is not None and entry[0] >= _cutoff():
            if not backend.shared:
                return entry[2]
            try:
                hidden = entry[0] <= backend.cleared_at()
            except StoreError as exc:
                report("reading the trace store", exc)
                hidden = False
            return None if hidden else entry[2]
        if not backend.shared:
            return None
        return backend.get_json(trace_id)

    def get(self, trace_id: str) -> Trace | None:
        data = self.get_json(trace_id)
        return Trace.from_json(data, source=f"trace {trace_id}") if data is not None else None

    def size(self) -> int:
        return len(self.recent())

    # -- managing -----------------------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget every trace, in this process and in the backend (every process sharing it)."""
        with self._lock:
            self._ring.clear()
        backend = self.backend
        if backend.shared:
            backend.clear_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the traces added so far are written to the backend."""
        return self.backend.flush(timeout)

    def stats(self) -> dict[str, Any]:
        """Where the traces are kept and the writer's counters, for ``api/traces/``."""
        backend = self.backend
        writer = backend.writer
        return {"backend": backend.describe(), "shared": backend.shared, "error": self.backend_error,
                "queued": writer.queued, "written": writer.written, "dropped": writer.dropped,
                "failed": writer.failed}


def _cutoff() -> float:
    max_age = conf.get("TRACE_MAX_AGE")
    return time.time() - max_age if isinstance(max_age, (int, float)) else float("-inf")


_default = RecentTraces()
conf.on_reset(_default.reset_backend)

add = _default.add
recent = _default.recent
get_json = _default.get_json
get = _default.get
size = _default.size
clear = _default.clear
flush = _default.flush
stats = _default.stats


def backend() -> TraceStore:
    """The backend this process's traces go to (``LIFECYCLE["TRACE_STORE"]``)."""
    return _default.backend


def backend_error() -> str | None:
    """Why the configured backend could not be made (this process then keeps its traces in memory only)."""
    _default.backend  # noqa: B018 - made on first use
    return _default.backend_error
