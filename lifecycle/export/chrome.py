"""Chrome Trace Event JSON: what Perfetto (ui.perfetto.dev), speedscope and chrome://tracing open.

One complete (``"ph": "X"``) event per span, ``ts`` and ``dur`` in microseconds from the trace start (with
nanosecond decimals), ``cat`` the span's kind, ``args`` its attributes plus ``span_id`` and ``parent_id``;
``M`` events name the process (the request) and its threads. No ``B``/``E`` pairs.

Both importers rebuild the tree from time alone, per (pid, tid): an event is the child of the innermost
event still open on its thread when it starts. Perfetto drops events that overlap without nesting
(perfetto.dev/docs/faq, "overlapping events"); speedscope (``src/import/trace-event.ts``) sorts by start,
longer first on a tie, and closes frames in end order, matching equal ends by name. So the lifecycle tree
is laid out for them:

- a child is kept strictly inside its parent: it ends at least 1 ns before the parent does (a zero-length
  ``exception`` span at its parent's very end moves 1 ns earlier), so that no rounding of ``ts + dur`` in a
  reader can make it end after its parent;
- a span that overlaps, or touches, a span on its parent's thread that is not one of its ancestors
  (concurrent ``asyncio`` tasks, threads) goes to another thread (``tid``), the first where it nests, where
  its own children follow it. Thread 1 is the request; "concurrent N" threads hold what ran beside it.
"""

from __future__ import annotations

from typing import Any

import orjson

from lifecycle.trace import Span, Trace, _json_default

PID = 1


def _us(ns: int) -> int | float:
    # Microseconds with the nanoseconds as 3 decimals (exact in the text: readers that parse the number as
    # text, like Perfetto's, get the nanosecond back).
    return ns // 1000 if ns % 1000 == 0 else ns / 1000


def intervals(trace: Trace) -> dict[int, tuple[int, int]]:
    """Each span's ``(start_ns, end_ns)``, kept strictly inside its parent's (see the module's docstring)."""
    out: dict[int, tuple[int, int]] = {}
    root_end = trace.duration_ns
    for span in trace.spans:
        start = max(0, span.start_ns)
        end = start + span.duration_ns if span.duration_ns is not None else None
        parent = out.get(span.parent_id) if span.parent_id is not None else None
        if parent is None:
            if end is None:
                end = max(start, root_end or 0)
        else:
            p_start, p_end = parent
            limit = p_end - 1 if p_end > p_start else p_end  # strictly inside, when the parent has a length
            if end is None:
                end = limit  # still open when the trace finished: drawn to its parent's end
            start = min(max(start, p_start), limit)
            end = min(max(end, start), limit)
        out[span.id] = (start, end)
    return out


def lanes(trace: Trace, spans: dict[int, tuple[int, int]]) -> dict[int, int]:
    """The thread (1, 2, ...) of each span: its parent's, unless it would overlap a span there that is not
    one of its ancestors; then the first thread where it nests, or a new one."""
    parents = {s.id: s.parent_id for s in trace.spans}
    order = {s.id: i for i, s in enumerate(trace.spans)}
    stacks: list[list[tuple[int, int]]] = []  # per thread: the open chain of (end_ns, span id), outermost first
    lane: dict[int, int] = {}
    for span_id in sorted(spans, key=lambda i: (spans[i][0], -spans[i][1], order[i])):
        start, end = spans[span_id]
        ancestors = set()
        p = parents[span_id]
        while p is not None and p not in ancestors:
            ancestors.add(p)
            p = parents.get(p)
        parent_id = parents[span_id]
        preferred = lane.get(parent_id, 0) if parent_id is not None else 0
        for index in (preferred, *range(len(stacks)), len(stacks)):
            if index == len(stacks):
                stacks.append([])
            stack = stacks[index]
            # What ended strictly before this span starts is closed: touching counts as overlapping, so
            # that no reader's rounding can join a span to its neighbour.
            while stack and stack[-1][1] not in ancestors and stack[-1][0] < start:
                stack.pop()
            if not stack or stack[-1][1] in ancestors:
                stack.append((end, span_id))
                lane[span_id] = index
                break
    return {span_id: index + 1 for span_id, index in lane.items()}


def _args(span: Span) -> dict[str, Any]:
    args = dict(span.attrs)
    args["span_id"] = span.id
    args["parent_id"] = span.parent_id
    return args


def document(trace: Trace) -> dict[str, Any]:
    """The Trace Event Format object (``{"traceEvents": [...], "otherData": {...}}``)."""
    spans = intervals(trace)
    tids = lanes(trace, spans)
    root = trace.spans[0] if trace.spans else None
    method, path = trace.request.get("method"), trace.request.get("path")
    title = f"{method} {path}" if method and path else (root.name if root is not None else trace.id)
    events: list[dict[str, Any]] = [
        {"ph": "M", "name": "process_name", "pid": PID, "tid": 1, "args": {"name": f"{title} (trace {trace.id})"}},
    ]
    for tid in sorted(set(tids.values()) or {1}):
        name = (root.kind if root is not None else "request") if tid == 1 else f"concurrent {tid - 1}"
        events.append({"ph": "M", "name": "thread_name", "pid": PID, "tid": tid, "args": {"name": name}})
        events.append({"ph": "M", "name": "thread_sort_index", "pid": PID, "tid": tid, "args": {"sort_index": tid}})
    for span in trace.spans:
        start, end = spans[span.id]
        events.append({"name": span.name, "cat": span.kind, "ph": "X", "ts": _us(start), "dur": _us(end - start),
                       "pid": PID, "tid": tids[span.id], "args": _args(span)})
    other = {"source": "django-request-lifecycle", "trace_id": trace.id, "started_at": trace.started_at,
             "kind": trace.kind}
    if trace.status is not None:
        other["status"] = str(trace.status)
    if trace.dropped and trace.dropped.get("spans"):
        other["dropped_spans"] = str(trace.dropped["spans"])
    return {"traceEvents": events, "otherData": other}


def write(trace: Trace) -> bytes:
    return orjson.dumps(document(trace), default=_json_default)
