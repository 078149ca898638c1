"""The end of a recording: raw span attributes become their JSON form, and the summary is computed.

During a request the SQL instrument keeps the raw parameters and frame tuples (cheap); here, once per
trace, they are redacted, formatted and fingerprinted, and the per-kind counts and the duplicate
(N+1) and similar query groups are built.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from lifecycle import conf, redact
from lifecycle.fingerprint import fingerprint, similar_key
from lifecycle.frames import display
from lifecycle.trace import Trace

# Transaction control is never an N+1: a view with two atomic() blocks runs SAVEPOINT twice by design.
_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK", "BEGIN", "COMMIT", "START TRANSACTION")

# Per SQL text, what finalize derives from the text alone: (fingerprint key, normalized text, similar-group
# key, whether its parameters are secret). One lookup per query instead of three cached calls.
_sql_facts: dict[str, tuple[str, str, str, bool]] = {}
_CACHE_SIZE = 4096


@conf.on_reset
def _clear() -> None:
    _sql_facts.clear()  # the secrecy of a statement depends on REDACT_SQL_PATTERNS


def _facts(sql: str) -> tuple[str, str, str, bool]:
    key, norm = fingerprint(sql)
    facts = (key, norm, similar_key(sql), redact.sensitive_sql(sql))
    if len(_sql_facts) >= _CACHE_SIZE:
        _sql_facts.clear()
    _sql_facts[sql] = facts
    return facts


def finalize(trace: Trace, secrets: Collection[str] = ()) -> Trace:
    """``secrets``: values known to be secret (the recording's ``secrets``), replaced everywhere."""
    per_kind: dict[str, list[int]] = {}  # kind -> [count, total duration]
    # While the spans are read, a group is a list (cheaper than a dict): duplicates by fingerprint
    # [normalized, count, total_ns, span_ids, distinct params, distinct parents, stack] and similar ones
    # [count, total_ns, span_ids, distinct fingerprints]. Only groups of two or more become dicts.
    by_fp: dict[str, list] = {}
    by_similar: dict[str, list] = {}
    error: str | None = None
    # The queries of a loop share their stack: format each distinct frame tuple once per trace.
    shown: dict[tuple, list] = {}
    layers: dict[int, Any] = {}
    facts_of = _sql_facts.get
    limit = conf.get("MAX_VALUE_LENGTH")
    sql_params = redact.sql_params
    for span in trace.spans:
        kind = span.kind
        duration = span.duration_ns or 0
        acc = per_kind.get(kind)
        if acc is None:
            per_kind[kind] = [1, duration]
        else:
            acc[0] += 1
            acc[1] += duration
        if kind == "sql":
            attrs = span.attrs
            sql = attrs.get("sql", "")
            facts = facts_of(sql)
            if facts is None:
                facts = _facts(sql)
            key, norm, skey, secret = facts
            if "raw_params" in attrs:
                raw = attrs.pop("raw_params")
                attrs["params"] = sql_params(sql, raw, attrs.get("many", False), secret=secret, limit=limit)
            stack = attrs.get("stack")
            if type(stack) is tuple:
                formatted = shown.get(stack)
                if formatted is None:
                    formatted = shown[stack] = display(stack)
                attrs["stack"] = stack = [*formatted]
            attrs["fp"] = key
            group = by_fp.get(key)
            if group is None:
                group = by_fp[key] = [norm, 0, 0, [], set(), set(), stack or []]
            group[1] += 1
            group[2] += duration
            group[3].append(span.id)
            group[4].add(tuple(attrs.get("params") or ()))
            group[5].add(span.parent_id)
            sim = by_similar.get(skey)
            if sim is None:
                sim = by_similar[skey] = [0, 0, [], set()]
            sim[0] += 1
            sim[1] += duration
            sim[2].append(span.id)
            sim[3].add(key)
        elif kind == "middleware":
            # Each layer's own time before and after the next layer (``before_ns``/``after_ns``): a
            # layer's first middleware child is the next layer; parents come before children.
            outer = layers.get(span.parent_id)
            if outer is not None and "before_ns" not in outer.attrs:
                before = span.start_ns - outer.start_ns
                outer.attrs["before_ns"] = before
                outer.attrs["after_ns"] = max(0, (outer.duration_ns or 0) - before - duration)
            layers[span.id] = span
        elif kind == "exception":
            attrs = span.attrs
            stack = attrs.get("stack")
            if isinstance(stack, (tuple, list)) and stack and isinstance(stack[0], tuple):
                attrs["stack"] = display(stack)
            if not attrs.get("handled") and error is None:
                error = f"{attrs.get('type')}: {attrs.get('message')}"

    threshold = conf.get("N_PLUS_ONE_THRESHOLD")
    duplicates = []
    for key, (norm, count, total, span_ids, params, parents, stack) in by_fp.items():
        if count < 2 or norm.upper().startswith(_TRANSACTION_CONTROL):
            continue
        duplicates.append({
            "fp": key, "fingerprint": norm, "count": count, "total_ns": total, "span_ids": span_ids,
            "stack": stack, "identical": count - len(params),
            "n_plus_one": count >= threshold and len(parents) == 1,
        })
    duplicates.sort(key=lambda g: (-g["count"], -g["total_ns"]))
    similar = []
    for skey, (count, total, span_ids, fps) in by_similar.items():
        if count >= 2 and len(fps) >= 2:
            similar.append({"key": skey, "pattern": skey, "count": count, "total_ns": total, "span_ids": span_ids,
                            "fingerprints": len(fps)})
    similar.sort(key=lambda g: (-g["count"], -g["total_ns"]))

    status = trace.response.get("status") if trace.response else None
    if error is None and status is not None and status >= 500:
        error = f"HTTP {status}"
    counts = {kind: acc[0] for kind, acc in per_kind.items()}
    trace.summary = {
        "counts": counts,
        "time_ns": {kind: acc[1] for kind, acc in per_kind.items()},
        "queries": counts.get("sql", 0),
        "duplicate_groups": duplicates,
        "similar_groups": similar,
        "n_plus_one": sum(1 for g in duplicates if g["n_plus_one"]),
        "status": status,
        "error": error,
    }
    if secrets:
        redact.scrub_trace(trace, secrets)
    return trace
