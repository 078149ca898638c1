"""What the live events carry, encoded once.

A span event carries :func:`live_span`: the span with only the attributes that are safe while the trace
is still recording. A batch travels as one JSON array in bytes (:func:`batch_json`), serialized once by
the drain; the finished trace, already JSON bytes (the store keeps them), is embedded in it unparsed with
``orjson.Fragment``, and the consumer embeds the array in its frame the same way.
"""

from __future__ import annotations

from typing import Any

import orjson

from lifecycle import kinds, nplusone

# Span attributes sent while a request runs: each kind's ``live_attrs`` (lifecycle.kinds). Raw SQL
# parameters and frame tuples are only redacted and formatted when the trace finishes
# (lifecycle.redact.trace, lifecycle.summary.finalize), so they wait for ``trace.end``.
_PLAIN = frozenset({int, float, bool, type(None)})
_SKIP = object()
_MAX_LIVE_STRING = 4000


def live_span(span) -> dict[str, Any]:
    """What a span event carries: the span, with only the attributes that are safe before finalize."""
    attrs = span.attrs
    keys = kinds.live_attrs(span.kind)
    if keys is None:
        keys = attrs
    safe: dict[str, Any] = {}
    for key in keys:
        value = attrs.get(key, _SKIP)
        cls = type(value)
        if cls is str:
            if len(value) > _MAX_LIVE_STRING:
                value = value[:_MAX_LIVE_STRING]
        elif cls not in _PLAIN:
            if not isinstance(value, str):
                continue  # absent, or not JSON-safe yet (raw parameters, frame tuples...)
            value = str.__str__(value)[:_MAX_LIVE_STRING]  # SafeString and other str subclasses
        safe[key] = value
    if span.kind == "sql" and "transaction" not in safe and span.duration_ns is not None:
        # A savepoint's span is marked after it ends (lifecycle.instruments.transactions); its text says so.
        sql = safe.get("sql")
        if type(sql) is str and nplusone.is_transaction_control(sql):
            safe["transaction"] = True
    name = span.name
    return {
        "id": span.id, "parent_id": span.parent_id, "kind": span.kind,
        "name": name if type(name) is str else str.__str__(str(name)),
        "start_ns": span.start_ns, "duration_ns": span.duration_ns, "attrs": safe,
    }


def _wire(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("trace_json")
    if data is None:
        return event
    wire = {k: v for k, v in event.items() if k != "trace_json"}
    wire["trace"] = orjson.Fragment(data)  # already JSON: embedded as is, not parsed and dumped again
    return wire


def batch_json(batch: list[dict[str, Any]]) -> bytes:
    """The events of one batch as one JSON array."""
    return orjson.dumps([_wire(event) for event in batch])
