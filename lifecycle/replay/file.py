"""Trace files meant for git: re-recording an unchanged page rewrites nothing.

:func:`write_recording` writes a trace in a fixed layout (one span per line, one summary group per
line, a fixed key order) and takes the run-to-run noise out of it. When the previous recording is
given, what did not change keeps the previous file's values: the trace id and ``started_at``, the
timings of every span that matches one of the recording (same kind, name, depth, parent and key
attributes, aligned in order so that an added span does not shift the others) and its span id, and
values that differ only by numbers the test database hands out (primary keys in SQL parameters, in
the path of a route that did not change, in error messages; the user's id; savepoint names) or by
random tokens. The trace duration is kept only when every span matched: a changed page gets the new
run's duration, which the timing check compares with. The file is still a version 1 trace
(``Trace.from_json`` and the dashboard read it). See docs/replay.md, "Reviewing recordings".
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import orjson

from lifecycle.trace import Trace

__all__ = ["FIXED_STARTED_AT", "recording_bytes", "write_recording"]

# A recording is not an event in time: a new file gets this instead of the wall clock.
FIXED_STARTED_AT = "2000-01-01T00:00:00.000000Z"

_TIMING_ATTRS = ("before_ns", "after_ns")
# Top-level keys in Trace.to_dict order; the keys of every nested object are sorted.
_ORDER = ("format", "version", "id", "started_at", "duration_ns", "request", "response", "resolver", "spans",
          "summary", "dropped", "kind", "kinds")
_SPAN_ORDER = ("id", "parent_id", "kind", "name", "start_ns", "duration_ns", "attrs")
_GROUPS = ("duplicate_groups", "similar_groups", "n_plus_one_groups")
# Django names savepoints s<thread id>_x<counter>: both depend on the process and on the tests before.
_SAVEPOINT = re.compile(r'"s\d+_x\d+"')
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,}")  # session keys, CSRF tokens, hashed cache keys
_NUMBER = re.compile(r"\d+")
# Attributes of non-SQL spans whose numbers come from the database or the run (paths with primary keys,
# URL arguments, exception messages, cache keys).
_NOISY_ATTRS = {"path", "args", "kwargs", "message", "key", "error"}
_DATE_HEADERS = {"date", "expires", "last-modified"}


def write_recording(trace: Trace, file: Path, previous: Trace | None, *, keep_timings: bool = True) -> bool:
    """Write ``trace`` to ``file`` for review in git (see the module docstring); ``previous`` is the
    recording the file held, or None. Returns True when the file's bytes changed; the file is not
    touched (its mtime stays) when they did not.

    ``keep_timings=False`` writes this run's timings and duration even where the spans match (the
    actual file of a failed timing check: the numbers are the point), keeping the rest of the noise out.
    """
    file = Path(file)
    data = recording_bytes(trace, previous, name=file.name, keep_timings=keep_timings)
    try:
        if file.read_bytes() == data:
            return False
    except OSError:
        pass
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, file)  # a reader (another xdist worker, the dashboard) never sees half a file
    return True


def recording_bytes(trace: Trace, previous: Trace | None, *, name: str, keep_timings: bool = True) -> bytes:
    """The normalized file content of ``trace``; ``name`` (the file name) derives a new file's id."""
    new = orjson.loads(trace.to_json())  # plain JSON values, as Trace.to_json makes them
    old = orjson.loads(previous.to_json()) if previous is not None else None
    return _layout(_normalize(new, old, name, keep_timings))


# -- noise ---------------------------------------------------------------------------------------------


def _normalize(new: dict[str, Any], old: dict[str, Any] | None, name: str, keep_timings: bool) -> dict[str, Any]:
    if old is None:
        new["id"] = hashlib.sha256(f"lifecycle-recording:{name}".encode()).hexdigest()[:16]
        new["started_at"] = FIXED_STARTED_AT
        _renumber_savepoints(new["spans"])
        _retime(new)
        return new
    new["id"], new["started_at"] = old["id"], old["started_at"]
    # A route whose path numbers changed only because the database gave other keys is the same route.
    same_route = _route(new.get("resolver")) == _route(old.get("resolver")) and _looked_up(
        old["request"].get("path") or "", new["request"].get("path") or "", _params(new["spans"])
    )
    _keep_request(new["request"], old["request"], same_route, _params(new["spans"]))
    if same_route and new.get("resolver") and old.get("resolver"):
        for key in ("args", "kwargs"):
            new["resolver"][key] = _keep(old["resolver"].get(key), new["resolver"].get(key), _NUMBER)
    unchanged = _merge_spans(new, old, same_route, keep_timings)
    if unchanged and keep_timings:
        new["duration_ns"] = old["duration_ns"]
    else:
        _renumber_savepoints([s for s in new["spans"] if "_kept" not in s])
    for span in new["spans"]:
        span.pop("_kept", None)
    _keep_response(new.get("response"), old.get("response"), unchanged)
    summary, old_summary = new["summary"], old.get("summary") or {}
    if summary.get("error") and old_summary.get("error"):
        summary["error"] = _keep(old_summary["error"], summary["error"], _NUMBER)
    _retime(new)
    return new


def _route(resolver: dict[str, Any] | None) -> tuple | None:
    return None if not resolver else (resolver.get("route"), resolver.get("url_name"), resolver.get("view"))


def _same(a: Any, b: Any, numbers: re.Pattern[str] | None) -> bool:
    """Equal once tokens (and, with ``numbers``, digit runs) are blanked out."""
    if isinstance(a, str) and isinstance(b, str):
        a, b = _TOKEN.sub("T", a), _TOKEN.sub("T", b)
        if numbers is not None:
            a, b = numbers.sub("0", a), numbers.sub("0", b)
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y, numbers) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], numbers) for k in a)
    return a == b


def _keep(old: Any, new: Any, numbers: re.Pattern[str] | None) -> Any:
    return old if _same(old, new, numbers) else new


def _looked_up(old: Any, new: Any, numbers: set[str]) -> bool:
    """Every number of ``new`` that differs from ``old`` is one the page sent to the database (a primary
    key in the path, /books/61/ for /books/41/); /t/queries/4/ for /t/queries/3/ is a change."""
    if not isinstance(old, str) or not isinstance(new, str):
        return False
    a, b = _NUMBER.findall(old), _NUMBER.findall(new)
    return len(a) == len(b) and all(x == y or y in numbers for x, y in zip(a, b, strict=True))


def _params(spans: list[dict[str, Any]]) -> set[str]:
    out: set[str] = set()
    for span in spans:
        params = span["attrs"].get("params") if span["kind"] == "sql" else None
        if isinstance(params, list):
            out.update(p for p in params if isinstance(p, str))
    return out


def _keep_request(new: dict[str, Any], old: dict[str, Any], same_route: bool, looked_up: set[str]) -> None:
    if same_route and _looked_up(old.get("path"), new.get("path"), looked_up):
        new["path"] = _keep(old.get("path"), new.get("path"), _NUMBER)
    # The body keeps its numbers (a form's quantity is not noise), only tokens (CSRF) are noise.
    new["body"] = _keep(old.get("body"), new.get("body"), None)
    user, old_user = new.get("user"), old.get("user")
    if user and old_user and user.get("username") == old_user.get("username"):
        new["user"] = {**user, "id": old_user.get("id")}  # the id comes from the database's sequence


def _keep_response(new: dict[str, Any] | None, old: dict[str, Any] | None, unchanged: bool) -> None:
    if not new or not old:
        return
    headers, old_headers = new.get("headers") or {}, old.get("headers") or {}
    for key in headers:
        if key.lower() in _DATE_HEADERS and key in old_headers:
            headers[key] = old_headers[key]
        elif key.lower() != "content-length":
            headers[key] = _keep(old_headers.get(key), headers[key], None)
    if "body" in new:
        # A JSON answer's tokens are noise, and so are its numbers when every span is the same (the
        # primary keys of a reseeded database): the body is shown, never compared.
        new["body"] = _keep(old.get("body"), new.get("body"), _NUMBER if unchanged else None)
    # A page that lists primary keys grows by a byte when a key gains a digit: with every span the same,
    # a size within 1% is the recording's.
    size, old_size = new.get("size"), old.get("size")
    if unchanged and isinstance(size, int) and isinstance(old_size, int) and abs(size - old_size) <= old_size // 100:
        new["size"] = old_size
        for key in headers:
            if key.lower() == "content-length" and key in old_headers:
                headers[key] = old_headers[key]


def _renumber_savepoints(spans: list[dict[str, Any]]) -> None:
    names: dict[str, str] = {}

    def stable(match: re.Match[str]) -> str:
        return names.setdefault(match.group(), f'"s0_x{len(names) + 1}"')

    for span in spans:
        if span["kind"] == "sql":
            sql = span["attrs"].get("sql")
            if isinstance(sql, str) and _SAVEPOINT.search(sql):
                span["attrs"]["sql"] = _SAVEPOINT.sub(stable, sql)
                span["name"] = _SAVEPOINT.sub(stable, span["name"])


# -- spans ---------------------------------------------------------------------------------------------


def _signatures(spans: list[dict[str, Any]]) -> list[tuple]:
    depth: dict[int, int] = {}
    out = []
    for span in spans:
        parent = span["parent_id"]
        depth[span["id"]] = level = 0 if parent is None else depth.get(parent, 0) + 1
        attrs = span["attrs"]
        if span["kind"] == "sql":
            key: tuple = (attrs.get("fp"), attrs.get("alias"), attrs.get("many"))
        else:
            name = _NUMBER.sub("0", _TOKEN.sub("T", span["name"]))
            key = (name, attrs.get("class"), attrs.get("view"), attrs.get("template"), attrs.get("via"),
                   attrs.get("op"), attrs.get("route"), attrs.get("type"))
        out.append((span["kind"], level, key))
    return out


def _merge_spans(new: dict[str, Any], old: dict[str, Any], same_route: bool, keep_timings: bool) -> bool:
    """Give each new span that matches an old one the old id, timings and noise; True when every span
    matched and nothing but noise differs."""
    spans, old_spans = new["spans"], old["spans"]
    a, b = _signatures(old_spans), _signatures(spans)
    pairs: dict[int, int] = {}  # new index -> old index
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            pairs[block.b + k] = block.a + k
    new_index = {s["id"]: i for i, s in enumerate(spans)}
    old_index = {s["id"]: i for i, s in enumerate(old_spans)}
    ids: dict[int, int] = {}  # new id -> written id
    used = {s["id"] for s in old_spans}
    next_id = max(used, default=-1) + 1
    unchanged = len(spans) == len(old_spans)
    for i, span in enumerate(spans):
        j = pairs.get(i)
        parent = span["parent_id"]
        if j is not None:
            old_parent = old_spans[j]["parent_id"]
            # The parents must be matched to each other, or the span moved.
            if (parent is None) != (old_parent is None) or (
                parent is not None and pairs.get(new_index.get(parent, -1)) != old_index.get(old_parent)
            ):
                j = None
        if j is None:
            unchanged = False
            ids[span["id"]] = next_id
            next_id += 1
        else:
            prev = old_spans[j]
            ids[span["id"]] = prev["id"]
            timings = (span["start_ns"], span["duration_ns"], *(span["attrs"].get(k) for k in _TIMING_ATTRS))
            _keep_span(span, prev, same_route)
            span["_kept"] = True
            unchanged = unchanged and _without_ids(span) == _without_ids(prev)
            if not keep_timings:
                span["start_ns"], span["duration_ns"] = timings[:2]
                for key, value in zip(_TIMING_ATTRS, timings[2:], strict=True):
                    if value is not None:
                        span["attrs"][key] = value
    for span in spans:
        span["id"] = ids[span["id"]]
        if span["parent_id"] is not None:
            span["parent_id"] = ids[span["parent_id"]]
    for key in _GROUPS:
        for group in new["summary"].get(key) or ():
            group["span_ids"] = sorted(ids.get(i, i) for i in group.get("span_ids") or ())
            if group.get("request_span_id") is not None:
                group["request_span_id"] = ids.get(group["request_span_id"], group["request_span_id"])
    if not unchanged and keep_timings:
        # The request span carries the trace's duration, which the timing check compares.
        root = next((s for s in spans if s["parent_id"] is None), None)
        if root is not None and root.get("_kept"):
            root["start_ns"], root["duration_ns"] = 0, new["duration_ns"]
    return unchanged


def _keep_span(span: dict[str, Any], prev: dict[str, Any], same_route: bool) -> None:
    span["start_ns"], span["duration_ns"] = prev["start_ns"], prev["duration_ns"]
    attrs, old = span["attrs"], prev["attrs"]
    for key in _TIMING_ATTRS:
        if key in attrs and key in old:
            attrs[key] = old[key]
    if span["kind"] == "sql":
        if _SAVEPOINT.search(attrs.get("sql") or ""):
            for_name = _SAVEPOINT.sub('"s"', attrs["sql"]) == _SAVEPOINT.sub('"s"', old.get("sql") or "")
            if for_name:
                attrs["sql"], span["name"] = old["sql"], prev["name"]
        # Primary keys and timestamps of the test database: same statement, same place, other numbers.
        if "params" in attrs and "params" in old:
            attrs["params"] = _keep(old["params"], attrs["params"], _NUMBER)
        if "error" in attrs and "error" in old:
            attrs["error"] = _keep(old["error"], attrs["error"], _NUMBER)
        return
    if span["kind"] in ("request", "resolve") and not same_route:
        return  # another route: its path and arguments are the change
    if _same(span["name"], prev["name"], _NUMBER):
        span["name"] = prev["name"]
    for key in _NOISY_ATTRS & attrs.keys() & old.keys():
        attrs[key] = _keep(old[key], attrs[key], _NUMBER)


def _without_ids(span: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in span.items() if k not in ("id", "parent_id", "_kept")}


def _retime(trace: dict[str, Any]) -> None:
    """The summary's times from the spans as written (the same sums as lifecycle.summary.finalize), so
    that kept span timings give the kept summary."""
    spans, summary = trace["spans"], trace["summary"]
    per_kind: dict[str, list[int]] = {}  # kind -> [inclusive time, self time]
    info: dict[int, list] = {}  # id -> [kind's accumulator, end, end of the children seen so far]
    durations: dict[int, int] = {}
    for span in spans:
        duration = span["duration_ns"] or 0
        start = span["start_ns"]
        end = start + duration
        durations[span["id"]] = duration
        acc = per_kind.setdefault(span["kind"], [0, 0])
        acc[0] += duration
        acc[1] += duration
        parent = info.get(span["parent_id"]) if span["parent_id"] is not None else None
        if parent is not None:
            lo, hi = max(start, parent[2]), min(end, parent[1])
            if hi > lo:
                parent[0][1] -= hi - lo
            parent[2] = max(parent[2], end)
        info[span["id"]] = [acc, end, start]
    if "time_ns" in summary:
        summary["time_ns"] = {kind: acc[0] for kind, acc in per_kind.items()}
    if "self_time_ns" in summary:
        summary["self_time_ns"] = {kind: acc[1] for kind, acc in per_kind.items()}
    for key in _GROUPS:
        groups = summary.get(key)
        if not groups:
            continue
        for group in groups:
            if "total_ns" in group:
                group["total_ns"] = sum(durations.get(i, 0) for i in group.get("span_ids") or ())
        # Most first, then the slowest, as lifecycle.summary and lifecycle.nplusone order them: with the
        # kept times, groups of one count keep their order (the new run's times would shuffle them).
        groups.sort(key=lambda g: (-g.get("count", 0), -g.get("total_ns", 0)))


# -- layout --------------------------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    # One line, sorted keys, a space after ":" and "," (the values are plain JSON already).
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)


def _block(value: Any, indent: str) -> str:
    """An object or list indented two spaces a level, sorted keys, starting at ``indent``."""
    text = orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    return text.replace("\n", "\n" + indent)


def _lines(items: list[str], indent: str) -> str:
    if not items:
        return "[]"
    inner = indent + "  "
    return "[\n" + ",\n".join(inner + item for item in items) + "\n" + indent + "]"


def _span_line(span: dict[str, Any]) -> str:
    fields = [f"{_dumps(key)}: {_dumps(span[key])}" for key in _SPAN_ORDER]
    return "{" + ", ".join(fields) + "}"


def _summary(summary: dict[str, Any]) -> str:
    fields = []
    for key in sorted(summary):
        value = summary[key]
        if key in _GROUPS and isinstance(value, list):
            text = _lines([_dumps(g) for g in value], "    ")
        else:
            text = _dumps(value)
        fields.append(f"    {_dumps(key)}: {text}")
    return "{\n" + ",\n".join(fields) + "\n  }" if fields else "{}"


def _layout(obj: dict[str, Any]) -> bytes:
    out = []
    for key in (*_ORDER, *sorted(set(obj) - set(_ORDER))):
        if key not in obj:
            continue
        value = obj[key]
        if key == "spans":
            text = _lines([_span_line(s) for s in value], "  ")
        elif key == "summary":
            text = _summary(value)
        else:
            text = _block(value, "  ")
        out.append(f"  {_dumps(key)}: {text}")
    return ("{\n" + ",\n".join(out) + "\n}\n").encode()
