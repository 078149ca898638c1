"""Recorded traces for the export tests, and what the Chrome trace importers rebuild from a file."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import defaultdict
from decimal import Decimal
from typing import Any

import lifecycle
from lifecycle.recorder import Recording
from lifecycle.summary import finalize
from lifecycle.trace import Trace


def record_concurrent() -> Trace:
    """A real recording whose two custom spans run at once (``asyncio.gather``): each waits, inside its span,
    until the other one has started, so that they overlap whatever the timing."""
    rec = Recording("request", "GET /gather/", {"method": "GET", "path": "/gather/"})
    rec.trace.request = {"method": "GET", "path": "/gather/"}

    async def step(name: str, mine: asyncio.Event, other: asyncio.Event) -> None:
        async with lifecycle.span(name, side=name):
            mine.set()
            await other.wait()
            with lifecycle.span(f"{name} inner"):
                await asyncio.sleep(0)

    async def main() -> None:
        left, right = asyncio.Event(), asyncio.Event()
        await asyncio.gather(step("left", left, right), step("right", right, left))

    def run() -> None:  # in a thread of its own: the caller may be running an event loop (Playwright's)
        rec.activate()
        try:
            asyncio.run(main())
        finally:
            rec.deactivate()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    rec.end(rec.request_span)
    return finalize(rec.finish())


def chrome_doc(data: bytes, *, exact: bool = True) -> dict[str, Any]:
    """The file as a reader sees it: ``exact`` reads numbers as their decimal text (Perfetto's tokenizer),
    else as doubles (speedscope, JavaScript)."""
    return json.loads(data, parse_float=Decimal if exact else float)


def _ns(value: Any) -> Any:
    return int(value * 1000) if isinstance(value, (int, Decimal)) else value * 1000


def rebuilt_parents(doc: dict[str, Any]) -> dict[int, int | None]:
    """Each span's parent as the importers rebuild it from time alone, per (pid, tid): events sorted by
    start, the longer first on a tie, then in file order (speedscope's sort, Perfetto's sorter); an event is
    the child of the innermost event still open when it starts. Fails on an event that overlaps the open
    one without nesting in it (Perfetto drops those; speedscope mismatches its frames)."""
    threads: dict[tuple[int, int], list[tuple[Any, Any, int, dict[str, Any]]]] = defaultdict(list)
    for index, event in enumerate(doc["traceEvents"]):
        if event["ph"] == "X":
            threads[(event["pid"], event["tid"])].append((_ns(event["ts"]), -_ns(event["dur"]), index, event))
    parents: dict[int, int | None] = {}
    for events in threads.values():
        stack: list[tuple[Any, int]] = []  # (end, span id)
        for start, minus_dur, _, event in sorted(events, key=lambda e: e[:3]):
            end = start - minus_dur
            while stack and stack[-1][0] <= start:
                stack.pop()
            if stack:
                assert end <= stack[-1][0], (
                    f"{event['name']!r} (span {event['args']['span_id']}) ends after the event it starts in, "
                    f"span {stack[-1][1]}, on thread {event['tid']}")
            parents[event["args"]["span_id"]] = stack[-1][1] if stack else None
            stack.append((end, event["args"]["span_id"]))
    return parents


def expected_parents(doc: dict[str, Any]) -> dict[int, int | None]:
    """Each span's nearest ancestor drawn on its own thread (its parent when they share one)."""
    events = {e["args"]["span_id"]: e for e in doc["traceEvents"] if e["ph"] == "X"}
    out: dict[int, int | None] = {}
    for span_id, event in events.items():
        parent = event["args"]["parent_id"]
        while parent is not None and events[parent]["tid"] != event["tid"]:
            parent = events[parent]["args"]["parent_id"]
        out[span_id] = parent
    return out
