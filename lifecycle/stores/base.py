"""The contract of a trace store backend, and what every backend shares: the writer and the project key."""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any, NamedTuple

import orjson

from lifecycle.stores.writer import Writer


class StoreError(Exception):
    """The trace store cannot be read or written (unreachable, corrupt); the message says which store."""


class Entry(NamedTuple):
    """One finished trace as stored: its id, when it was added (``time.time()``), its list row, its JSON."""

    id: str
    added_at: float
    row: dict[str, Any]
    data: bytes


class TraceStore:
    """A place where the finished traces of every process that shares it are kept.

    ``lifecycle.store`` keeps each process's newest traces in memory in front of it: the request path
    only calls :meth:`submit`, which queues the entry for a background thread that calls :meth:`write`
    with batches. Reads (:meth:`recent`, :meth:`get_json`) run in the reader's thread. Every method but
    :meth:`submit` may block on I/O and raises :class:`StoreError` when the store fails.

    ``max_traces`` and ``max_age`` (seconds, None for no limit) bound what is kept: :meth:`write` prunes,
    and reads never return an older entry.
    """

    #: False where the store holds nothing beyond this process's memory (another process cannot read it).
    shared = True

    def __init__(self, *, max_traces: int = 100, max_age: float | None = None, queue_size: int = 1000) -> None:
        self.max_traces = max(0, int(max_traces))
        self.max_age = max_age
        self.writer = Writer(self._write_batch, queue_size=queue_size, name=type(self).__name__,
                             done=self._writer_done)

    # -- for lifecycle.store -------------------------------------------------------------------------------

    def submit(self, entry: Entry) -> None:
        """Queue ``entry`` for writing; never blocks (a full queue drops it, counted in ``writer.dropped``)."""
        self.writer.submit(entry)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until what was submitted is written (or ``timeout`` passes); whether it all was."""
        return self.writer.flush(timeout)

    def close(self) -> None:
        """Write what is queued (briefly), stop the writer, release connections."""
        self.writer.close()

    def clear_all(self) -> None:
        """Drop what waits in the queue and everything stored (for every process sharing the store)."""
        with self.writer.paused():
            self.clear()

    def cutoff(self) -> float:
        """Entries added before this (``time.time()``) are too old to show."""
        return time.time() - self.max_age if self.max_age is not None else float("-inf")

    def _write_batch(self, entries: list[Entry]) -> None:
        self.write(entries)

    def _writer_done(self) -> None:
        """Called in the writer thread as it ends (after :meth:`close`): release what it holds."""

    # -- what a backend implements -------------------------------------------------------------------------

    def write(self, entries: list[Entry]) -> None:
        """Keep ``entries`` (an id already stored is replaced), then prune to ``max_traces`` and ``max_age``.
        Called from the writer thread only."""
        raise NotImplementedError

    def recent(self, limit: int) -> list[tuple[float, dict[str, Any]]]:
        """Up to ``limit`` ``(added_at, row)``, newest first, none older than :meth:`cutoff`. A row that cannot
        be read is left out (and reported), never a reason to fail the list."""
        raise NotImplementedError

    def get_json(self, trace_id: str) -> bytes | None:
        """The trace's JSON, or None when it is not (or no longer) stored; :class:`StoreError` when what is
        stored under ``trace_id`` is not a trace."""
        raise NotImplementedError

    def cleared_at(self) -> float:
        """When :meth:`clear` last ran (``time.time()``, any process), 0.0 if never: a process hides the
        older traces of its own memory, so that a clear from elsewhere clears them too."""
        return 0.0

    def clear(self) -> None:
        """Delete every stored trace and record :meth:`cleared_at`."""
        raise NotImplementedError

    def describe(self) -> str:
        """Where the traces are, for messages: ``the SQLite file <path>``."""
        return type(self).__name__


def project_key() -> str:
    """A name for this project, stable across restarts: its BASE_DIR (else the folder of its settings
    module, else the working directory) and a hash of it, so that two projects on one machine or one Redis
    keep their traces apart (two projects' settings modules may have the same dotted name)."""
    import os
    import sys

    from django.conf import settings

    base = getattr(settings, "BASE_DIR", None)
    if not base:
        module = sys.modules.get(getattr(settings, "SETTINGS_MODULE", None) or "")
        file = getattr(module, "__file__", None)
        base = os.path.dirname(os.path.dirname(os.path.abspath(file))) if file else os.getcwd()
    text = str(base)
    name = re.sub(r"[^A-Za-z0-9]+", "-", os.path.basename(text.rstrip("/\\")) or "project").strip("-")[:40]
    return f"{name or 'project'}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def checked_trace(data: bytes, trace_id: str, where: str) -> bytes:
    """``data`` when it is a lifecycle trace's JSON object; :class:`StoreError` naming the trace and the store
    otherwise (a damaged file, another program's keys)."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise StoreError(f"trace {trace_id!r} in {where} is damaged: not valid JSON ({exc})") from None
    if not isinstance(obj, dict) or obj.get("format") != "lifecycle-trace":
        got = type(obj).__name__ if not isinstance(obj, dict) else f"format {obj.get('format')!r}"
        raise StoreError(f"trace {trace_id!r} in {where} is damaged: expected a lifecycle-trace JSON object, "
                         f"got {got}")
    return data


def checked_row(raw: Any, trace_id: str) -> dict[str, Any] | None:
    """The list row stored as ``raw`` (JSON bytes), or None when it is not one."""
    try:
        row = orjson.loads(raw)
    except (orjson.JSONDecodeError, TypeError):
        return None
    return row if isinstance(row, dict) and row.get("id") == trace_id else None
