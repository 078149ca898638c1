"""The recent-trace store: a bounded ring of finished traces, kept as JSON bytes plus their list row.

Bytes rather than live objects: a buffer of trace graphs gives the garbage collector hundreds of objects
per request to scan, and the dashboard needs JSON anyway.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from lifecycle import conf
from lifecycle.trace import Trace

_lock = threading.Lock()
_traces: OrderedDict[str, tuple[dict[str, Any], bytes]] = OrderedDict()


def add(trace: Trace, data: bytes | None = None) -> dict[str, Any]:
    """Keep ``trace`` (``data``: its JSON, if already made); returns its list row."""
    row = trace.row()
    entry = (row, data if data is not None else trace.to_json())
    limit = max(0, conf.get("RECENT_TRACES"))
    with _lock:
        _traces[trace.id] = entry
        while len(_traces) > limit:
            _traces.popitem(last=False)
    return row


def recent(limit: int | None = None) -> list[dict[str, Any]]:
    """List rows, newest first."""
    with _lock:
        rows = [row for row, _ in reversed(_traces.values())]
    return rows[:limit] if limit is not None else rows


def get_json(trace_id: str) -> bytes | None:
    with _lock:
        entry = _traces.get(trace_id)
    return entry[1] if entry else None


def get(trace_id: str) -> Trace | None:
    data = get_json(trace_id)
    return Trace.from_json(data, source=f"trace {trace_id}") if data is not None else None


def clear() -> None:
    with _lock:
        _traces.clear()


def size() -> int:
    with _lock:
        return len(_traces)
