"""The end of a recording: raw span attributes become their JSON form, and the summary is computed.

During a request the instruments keep raw frame tuples (cheap); here, once per trace, they are formatted,
the queries fingerprinted, and the per-kind counts and the duplicate (N+1) and similar query groups are
built. The trace is redacted before (``lifecycle.redact.trace.redact_trace``: values known to be
secrets), so that the summary is built from what may be shown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from operator import attrgetter
from typing import Any

from lifecycle import conf, kinds, nplusone
from lifecycle.fingerprint import fingerprint, similar_key
from lifecycle.frames import display
from lifecycle.trace import Trace

# Per SQL text, what finalize derives from the text alone: (fingerprint key, normalized text, similar-group
# key). One lookup per query instead of two cached calls.
_sql_facts: dict[str, tuple[str, str, str]] = {}
_CACHE_SIZE = 4096
_kind_of = attrgetter("kind")


@conf.on_reset
def _clear() -> None:
    _sql_facts.clear()  # with the other caches, when the settings change


def _facts(sql: str) -> tuple[str, str, str]:
    key, norm = fingerprint(sql)
    facts = (key, norm, similar_key(sql))
    if len(_sql_facts) >= _CACHE_SIZE:
        _sql_facts.clear()
    _sql_facts[sql] = facts
    return facts


def finalize(trace: Trace, *, now_ns: int | None = None) -> Trace:
    """The summary and the JSON forms of a trace already redacted (``redact_trace``).
    ``now_ns``: for a snapshot of a trace still recording (the debug-toolbar panel), the time of the
    snapshot (from the trace start): a span still open counts as running until then."""
    spans = trace.spans
    # Per kind: the time of its spans, and the part of it their children cover (self time is the rest).
    time_of: dict[str, int] = {}
    covered: dict[str, int] = {}
    # While the spans are read, a group is a list (cheaper than a dict): duplicates by fingerprint
    # [normalized, count, total_ns, span_ids, distinct params, sites, first span, transaction control]
    # and similar ones [count, total_ns, span_ids, distinct fingerprints]. Only groups of two or more
    # become dicts.
    by_fp: dict[Hashable, list] = {}
    by_similar: dict[str, list] = {}
    loops = nplusone.Collector()
    # Per span, for its children: [its kind, its end, id of its request span (the root counts as one), end of
    # its children seen so far].
    info: dict[int | None, list] = {}
    exceptions: list[Any] = []
    # The queries of a loop share their stack: format each distinct frame tuple once per trace.
    shown: dict[tuple, list] = {}
    # Per (SQL text, template_stack list, stack tuple, request): what its queries share, and their time, span
    # ids and parameters, added to the groups once the spans are read (see _slot). The lists and tuples are
    # compared by identity: ``shown`` and the slots hold them, so no id is reused meanwhile.
    slots: dict[tuple, list] = {}
    layers: dict[int | None, Any] = {}
    # The previous query's, for the next query of a loop (the same statement from the same call chain).
    last_sql = last_lines = last_stack = last_request = None
    last_slot: Any = None
    for span in spans:
        kind = span.kind
        start = span.start_ns
        duration = span.duration_ns
        if duration is None:
            duration = max(0, now_ns - start) if now_ns is not None else 0
        time_of[kind] = time_of.get(kind, 0) + duration
        end = start + duration
        span_id = span.id
        parent = info.get(span.parent_id)
        if parent is None:
            request = span_id
        else:
            request = span_id if kind == "request" else parent[2]
            # Children are in start order: the part of this one not yet covered by its earlier siblings,
            # cut to its parent's time (concurrent children are not counted twice).
            seen = parent[3]
            lo = start if start > seen else seen
            hi = parent[1]
            if end < hi:
                hi = end
            if hi > lo:
                covered[parent[0]] = covered.get(parent[0], 0) + hi - lo
            if end > seen:
                parent[3] = end
        info[span_id] = [kind, end, request, start]
        if kind == "sql":
            attrs = span.attrs
            sql = attrs.get("sql", "")
            raw_stack = attrs.get("stack")
            lines = attrs.get("template_stack")
            if lines is last_lines and raw_stack is last_stack and request == last_request and sql == last_sql:
                slot = last_slot
            else:
                slot_key = (sql, id(lines), id(raw_stack), request)
                slot = slots.get(slot_key)
                if slot is None:
                    slot = slots[slot_key] = _slot(span, sql, lines, raw_stack, request, shown, by_fp, by_similar,
                                                   loops)
                last_sql, last_lines, last_stack, last_request, last_slot = sql, lines, raw_stack, request, slot
            slot[9].add(nplusone.params_key(attrs))
            if slot[1] is not None:
                attrs["stack"] = slot[1]  # one list for the queries of a call chain (read-only from here on)
            attrs["fp"] = slot[0]
            slot[7] += duration
            slot[8].append(span_id)
        elif kind == "middleware":
            # Each layer's own time before and after the next layer (``before_ns``/``after_ns``): a
            # layer's first middleware child is the next layer; parents come before children.
            outer = layers.get(span.parent_id)
            if outer is not None and "before_ns" not in outer.attrs:
                before = span.start_ns - outer.start_ns
                outer.attrs["before_ns"] = before
                outer.attrs["after_ns"] = max(0, (outer.duration_ns or 0) - before - duration)
            layers[span_id] = span
        elif kind == "exception":
            attrs = span.attrs
            stack = attrs.get("stack")
            if isinstance(stack, (tuple, list)) and stack and isinstance(stack[0], tuple):
                attrs["stack"] = display(stack)
            exceptions.append(span)
    for key, _formatted, group, site, loop, sim, _stack, total, span_ids, pkeys in slots.values():
        count = len(span_ids)
        group[1] += count
        group[2] += total
        group[3].extend(span_ids)
        group[4].update(pkeys)
        site[0] += count
        if loop is not None:
            loop.count += count
            loop.total_ns += total
            loop.span_ids.extend(span_ids)
            loop.params.update(pkeys)
        sim[0] += count
        sim[1] += total
        sim[2].extend(span_ids)
        sim[3].add(key)
    status = trace.response.get("status") if trace.response else None
    error = _error(trace, exceptions, info, status)

    threshold = conf.get("N_PLUS_ONE_THRESHOLD")
    flagged = loops.flagged(threshold)
    flagged_fps = {g.key for g in flagged}
    duplicates = []
    for key, (norm, count, total, span_ids, params, sites, first, control) in by_fp.items():
        if count < 2 or control:
            continue
        duplicates.append({
            "fp": key, "fingerprint": norm, "count": count, "total_ns": total, "span_ids": sorted(span_ids),
            "stack": first.attrs.get("stack") or [], "template_stack": first.attrs.get("template_stack") or [],
            "identical": count - len(params), "n_plus_one": key in flagged_fps,
            "sites": _sites(sites),
        })
    duplicates.sort(key=lambda g: (-g["count"], -g["total_ns"]))
    n_plus_one = [{
        "fp": g.key, "fingerprint": by_fp[g.key][0], "count": g.count, "total_ns": g.total_ns,
        "span_ids": sorted(g.span_ids), "distinct_params": len(g.params), "request_span_id": g.request,
        "stack": g.first.attrs.get("stack") or [], "template_stack": g.first.attrs.get("template_stack") or [],
    } for g in flagged]
    similar = []
    for skey, (count, total, span_ids, fps) in by_similar.items():
        if count >= 2 and len(fps) >= 2:
            similar.append({"key": skey, "count": count, "total_ns": total,
                            "span_ids": sorted(span_ids), "fingerprints": len(fps)})
    similar.sort(key=lambda g: (-g["count"], -g["total_ns"]))

    counts = dict(Counter(map(_kind_of, spans)))  # in the order the kinds first appear, as time_of
    trace.kinds = kinds.describe(counts)
    trace.summary = {
        "counts": counts,
        "time_ns": time_of,
        "self_time_ns": {kind: time - covered.get(kind, 0) for kind, time in time_of.items()},
        "queries": counts.get("sql", 0),
        "duplicate_groups": duplicates,
        "similar_groups": similar,
        "n_plus_one_groups": n_plus_one,
        "n_plus_one": len(n_plus_one),
        "status": status,
        "error": error,
    }
    return trace


def _slot(span, sql: str, lines: Any, raw_stack: Any, request: int, shown: dict, by_fp: dict, by_similar: dict,
          loops: nplusone.Collector) -> list:
    """What the queries of one SQL text, call chain and request share, for ``finalize``: [fingerprint key,
    formatted stack (None: leave the stack as it is), duplicate group, call-site entry of the
    group, N+1 group (None for transaction control), similar group, the stack tuple (held), then the
    total time, span ids and distinct parameters of its queries, added to the groups at the end]."""
    facts = _sql_facts.get(sql)
    if facts is None:
        facts = _facts(sql)
    key, norm, skey = facts
    formatted = None
    if type(raw_stack) is tuple:
        formatted = shown.get(raw_stack)
        if formatted is None:
            formatted = shown[raw_stack] = display(raw_stack)
    group = by_fp.get(key)
    if group is None:
        group = by_fp[key] = [norm, 0, 0, [], set(), {}, span,
                              norm.upper().startswith(nplusone.TRANSACTION_CONTROL)]
    chain = _chain_key(lines, raw_stack)
    site = group[5].get(chain)
    if site is None:
        site = group[5][chain] = [0, span]
    loop = None
    if not group[7]:
        shown_stack = formatted if formatted is not None else raw_stack
        loop = loops.group(span, key, request, nplusone.site_of({"template_stack": lines, "stack": shown_stack}))
    sim = by_similar.get(skey)
    if sim is None:
        sim = by_similar[skey] = [0, 0, [], set()]
    return [key, formatted, group, site, loop, sim, raw_stack, 0, [], set()]


_MAX_SITES = 10


def _chain_key(lines: Any, stack: Any) -> tuple:
    """A query's whole call chain, as a key: its template lines, then its user frames."""
    key: tuple = ()
    if lines:
        key = tuple((e.get("file") or e.get("template"), e.get("line")) for e in lines if isinstance(e, dict))
    if stack:
        key += tuple((f[0], f[1]) for f in stack)
    return key


def _sites(sites: dict[tuple, list]) -> list[dict[str, Any]]:
    """The call chains of a fingerprint with their counts, most first (at most ``_MAX_SITES``)."""
    ranked = sorted(sites.values(), key=lambda s: -s[0])[:_MAX_SITES]
    return [{"count": n, "template_stack": span.attrs.get("template_stack") or [],
             "stack": span.attrs.get("stack") or []} for n, span in ranked]


def _error(trace: Trace, exceptions: list[Any], info: dict[int | None, list], status: int | None) -> str | None:
    """The trace's error: an exception that became a server error (5xx) or left the request unanswered,
    else a 5xx status. An ``Http404`` or ``PermissionDenied`` that Django turned into a 404 or 403 page is
    not an error: its request answered below 500."""
    by_id = {s.id: s for s in trace.spans} if exceptions else {}
    for span in exceptions:
        attrs = span.attrs
        if attrs.get("handled"):
            continue
        req = by_id.get(info[span.id][2])
        answered = status if req is None or req.parent_id is None else req.attrs.get("status")
        if answered is not None and answered < 500:
            continue
        return f"{attrs.get('type')}: {attrs.get('message')}"
    if status is not None and status >= 500:
        return f"HTTP {status}"
    return None
