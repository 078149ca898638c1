"""``MemoryStore``: no store beyond each process's own memory (lifecycle's behaviour before stores)."""

from __future__ import annotations

from typing import Any

from lifecycle.stores.base import Entry, TraceStore


class MemoryStore(TraceStore):
    """Each process keeps only its own newest ``RECENT_TRACES`` traces, in memory (``lifecycle.store``'s
    front); they are gone at a restart and another process cannot see them. Nothing is written."""

    shared = False

    def submit(self, entry: Entry) -> None:
        pass

    def write(self, entries: list[Entry]) -> None:
        pass

    def recent(self, limit: int) -> list[tuple[float, dict[str, Any]]]:
        return []

    def get_json(self, trace_id: str) -> bytes | None:
        return None

    def clear(self) -> None:
        pass

    def describe(self) -> str:
        return "this process's memory (the memory trace store)"
