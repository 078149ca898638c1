"""The end of a recording: raw span attributes become their JSON form, and the summary is computed.

During a request the SQL instrument keeps the raw parameters and frame tuples (cheap); here, once per
trace, they are redacted, formatted and fingerprinted, and the per-kind counts and the duplicate
(N+1) and similar query groups are built.
"""

from __future__ import annotations

from typing import Any

from lifecycle import conf, redact
from lifecycle.fingerprint import fingerprint, similar_key
from lifecycle.frames import display
from lifecycle.trace import Trace

# Transaction control is never an N+1: a view with two atomic() blocks runs SAVEPOINT twice by design.
_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK", "BEGIN", "COMMIT", "START TRANSACTION")


def finalize(trace: Trace) -> Trace:
    counts: dict[str, int] = {}
    time_ns: dict[str, int] = {}
    by_fp: dict[str, dict[str, Any]] = {}
    by_similar: dict[str, dict[str, Any]] = {}
    error: str | None = None
    # The queries of a loop share their stack: format each distinct frame tuple once per trace.
    shown: dict[tuple, list] = {}
    layers: dict[int, Any] = {}
    for span in trace.spans:
        kind = span.kind
        duration = span.duration_ns or 0
        counts[kind] = counts.get(kind, 0) + 1
        time_ns[kind] = time_ns.get(kind, 0) + duration
        if kind == "middleware":
            # Each layer's own time before and after the next layer (``before_ns``/``after_ns``): a
            # layer's first middleware child is the next layer; parents come before children.
            outer = layers.get(span.parent_id)
            if outer is not None and "before_ns" not in outer.attrs:
                before = span.start_ns - outer.start_ns
                outer.attrs["before_ns"] = before
                outer.attrs["after_ns"] = max(0, (outer.duration_ns or 0) - before - duration)
            layers[span.id] = span
        elif kind == "sql":
            attrs = span.attrs
            sql = attrs.get("sql", "")
            if "raw_params" in attrs:
                attrs["params"] = redact.sql_params(sql, attrs.pop("raw_params"), attrs.get("many", False))
            stack = attrs.get("stack")
            if type(stack) is tuple:
                formatted = shown.get(stack)
                if formatted is None:
                    formatted = shown[stack] = display(stack)
                attrs["stack"] = stack = [*formatted]
            key, norm = fingerprint(sql)
            attrs["fp"] = key
            group = by_fp.get(key)
            if group is None:
                group = by_fp[key] = {"fp": key, "fingerprint": norm, "count": 0, "total_ns": 0, "span_ids": [],
                                      "_params": set(), "_parents": set(), "stack": stack or []}
            group["count"] += 1
            group["total_ns"] += duration
            group["span_ids"].append(span.id)
            group["_params"].add(tuple(attrs.get("params") or ()))
            group["_parents"].add(span.parent_id)
            skey = similar_key(sql)
            sim = by_similar.get(skey)
            if sim is None:
                sim = by_similar[skey] = {"key": skey, "pattern": skey, "count": 0, "total_ns": 0, "span_ids": [],
                                          "_fps": set()}
            sim["count"] += 1
            sim["total_ns"] += duration
            sim["span_ids"].append(span.id)
            sim["_fps"].add(key)
        elif kind == "exception":
            attrs = span.attrs
            stack = attrs.get("stack")
            if isinstance(stack, (tuple, list)) and stack and isinstance(stack[0], tuple):
                attrs["stack"] = display(stack)
            if not attrs.get("handled") and error is None:
                error = f"{attrs.get('type')}: {attrs.get('message')}"

    threshold = conf.get("N_PLUS_ONE_THRESHOLD")
    duplicates = []
    for group in by_fp.values():
        if group["count"] < 2 or group["fingerprint"].upper().startswith(_TRANSACTION_CONTROL):
            continue
        params = group.pop("_params")
        parents = group.pop("_parents")
        group["identical"] = group["count"] - len(params)
        group["n_plus_one"] = group["count"] >= threshold and len(parents) == 1
        duplicates.append(group)
    duplicates.sort(key=lambda g: (-g["count"], -g["total_ns"]))
    similar = []
    for sim in by_similar.values():
        fps = sim.pop("_fps")
        if sim["count"] >= 2 and len(fps) >= 2:
            sim["fingerprints"] = len(fps)
            similar.append(sim)
    similar.sort(key=lambda g: (-g["count"], -g["total_ns"]))

    status = trace.response.get("status") if trace.response else None
    if error is None and status is not None and status >= 500:
        error = f"HTTP {status}"
    trace.summary = {
        "counts": counts,
        "time_ns": time_ns,
        "queries": counts.get("sql", 0),
        "duplicate_groups": duplicates,
        "similar_groups": similar,
        "n_plus_one": sum(1 for g in duplicates if g["n_plus_one"]),
        "status": status,
        "error": error,
    }
    return trace
