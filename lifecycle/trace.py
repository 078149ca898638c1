"""The one data shape: a trace of spans, and its versioned JSON form.

This module imports nothing else of ours. ``docs/trace-format.md`` describes every field,
``lifecycle/schema/trace-v1.json`` is its JSON Schema and ``frontend/src/lib/trace-format.ts`` mirrors it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

FORMAT = "lifecycle-trace"
VERSION = 1


class TraceFormatError(ValueError):
    """A file or message is not a valid lifecycle trace; the message names the source and the field."""


class Span:
    """One timed stage of a request. ``start_ns`` is an offset from the trace start."""

    __slots__ = ("id", "parent_id", "kind", "name", "start_ns", "duration_ns", "attrs")

    def __init__(
        self,
        id: int,
        parent_id: int | None,
        kind: str,
        name: str,
        start_ns: int,
        duration_ns: int | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> None:
        self.id = id
        self.parent_id = parent_id
        self.kind = kind
        self.name = name
        self.start_ns = start_ns
        self.duration_ns = duration_ns
        self.attrs = attrs if attrs is not None else {}

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parent_id": self.parent_id,
            "kind": self.kind,
            "name": self.name,
            "start_ns": self.start_ns,
            "duration_ns": self.duration_ns,
            "attrs": self.attrs,
        }

    def __repr__(self) -> str:
        return f"<Span {self.id} {self.kind} {self.name!r} parent={self.parent_id}>"


class Trace:
    """A request: metadata plus a flat list of spans forming a tree (span 0 is the request)."""

    __slots__ = ("id", "started_at", "duration_ns", "request", "response", "resolver", "spans", "summary",
                 "dropped")

    def __init__(
        self,
        id: str,
        started_at: str,
        duration_ns: int | None = None,
        request: dict[str, Any] | None = None,
        response: dict[str, Any] | None = None,
        resolver: dict[str, Any] | None = None,
        spans: list[Span] | None = None,
        summary: dict[str, Any] | None = None,
        dropped: dict[str, Any] | None = None,
    ) -> None:
        self.id = id
        self.started_at = started_at
        self.duration_ns = duration_ns
        self.request = request if request is not None else {}
        self.response = response
        self.resolver = resolver
        self.spans = spans if spans is not None else []
        self.summary = summary if summary is not None else {}
        self.dropped = dropped if dropped is not None else {"spans": 0, "reason": None}

    # -- queries ---------------------------------------------------------------------------------------

    def spans_of(self, kind: str) -> list[Span]:
        return [s for s in self.spans if s.kind == kind]

    @property
    def status(self) -> int | None:
        return self.response.get("status") if self.response else None

    def row(self) -> dict[str, Any]:
        """The request list's row: what the dashboard shows before a trace is opened."""
        summary = self.summary
        resolver = self.resolver or {}
        return {
            "id": self.id,
            "started_at": self.started_at,
            "method": self.request.get("method"),
            "path": self.request.get("path"),
            "status": self.status,
            "duration_ns": self.duration_ns,
            "queries": summary.get("queries", 0),
            "duplicates": sum(g["count"] for g in summary.get("duplicate_groups", ())),
            "n_plus_one": summary.get("n_plus_one", 0),
            "error": summary.get("error"),
            "view": resolver.get("view"),
            "url_name": resolver.get("url_name"),
        }

    # -- JSON ------------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "id": self.id,
            "started_at": self.started_at,
            "duration_ns": self.duration_ns,
            "request": self.request,
            "response": self.response,
            "resolver": self.resolver,
            "spans": [s.to_dict() for s in self.spans],
            "summary": self.summary,
            "dropped": self.dropped,
        }

    def to_json(self, *, indent: bool = False) -> bytes:
        option = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS if indent else 0
        return orjson.dumps(self.to_dict(), option=option, default=_json_default)

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.to_json(indent=True) + b"\n")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Trace:
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise TraceFormatError(f"{path}: no such trace file") from None
        except OSError as exc:
            raise TraceFormatError(f"{path}: cannot read trace file: {exc}") from None
        return cls.from_json(data, source=str(path))

    @classmethod
    def from_json(cls, data: bytes | str, *, source: str = "trace") -> Trace:
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise TraceFormatError(f"{source}: not valid JSON ({exc})") from None
        return cls.from_dict(obj, source=source)

    @classmethod
    def from_dict(cls, obj: Any, *, source: str = "trace") -> Trace:
        check = _Checker(source)
        check.that(isinstance(obj, dict), "", f"expected a JSON object, got {type(obj).__name__}")
        fmt = obj.get("format")
        check.that(
            fmt == FORMAT, "format",
            f"expected {FORMAT!r}, got {fmt!r}: this is not a django-request-lifecycle trace",
        )
        version = obj.get("version")
        check.that(
            version == VERSION, "version",
            f"unsupported version {version!r}; this version of lifecycle reads version {VERSION}",
        )
        check.type(obj, "id", str)
        check.type(obj, "started_at", str)
        check.type(obj, "duration_ns", int, nullable=True)
        check.type(obj, "request", dict)
        check.type(obj, "response", dict, nullable=True)
        check.type(obj, "resolver", dict, nullable=True)
        check.type(obj, "spans", list)
        check.type(obj, "summary", dict)
        check.type(obj, "dropped", dict, nullable=True)
        spans = [_span_from_dict(raw, i, check) for i, raw in enumerate(obj["spans"])]
        seen: set[int] = set()
        for i, span in enumerate(spans):
            check.that(span.id not in seen, f"spans[{i}].id", f"duplicate span id {span.id}")
            check.that(
                span.parent_id is None or span.parent_id in seen, f"spans[{i}].parent_id",
                f"parent {span.parent_id} is not an earlier span",
            )
            seen.add(span.id)
        return cls(
            id=obj["id"],
            started_at=obj["started_at"],
            duration_ns=obj["duration_ns"],
            request=obj["request"],
            response=obj["response"],
            resolver=obj["resolver"],
            spans=spans,
            summary=obj["summary"],
            dropped=obj.get("dropped") or {"spans": 0, "reason": None},
        )

    def __repr__(self) -> str:
        return f"<Trace {self.id} {self.request.get('method')} {self.request.get('path')} {len(self.spans)} spans>"


def _span_from_dict(raw: Any, i: int, check: _Checker) -> Span:
    where = f"spans[{i}]"
    check.that(isinstance(raw, dict), where, f"expected an object, got {type(raw).__name__}")
    check.type(raw, "id", int, where=where)
    check.type(raw, "parent_id", int, nullable=True, where=where)
    check.type(raw, "kind", str, where=where)
    check.type(raw, "name", str, where=where)
    check.type(raw, "start_ns", int, where=where)
    check.type(raw, "duration_ns", int, nullable=True, where=where)
    check.type(raw, "attrs", dict, where=where)
    return Span(raw["id"], raw["parent_id"], raw["kind"], raw["name"], raw["start_ns"], raw["duration_ns"],
                raw["attrs"])


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def that(self, ok: bool, field: str, message: str) -> None:
        if not ok:
            at = f" field {field!r}:" if field else ""
            raise TraceFormatError(f"{self.source}:{at} {message}")

    def type(self, obj: dict, key: str, typ: type, *, nullable: bool = False, where: str = "") -> None:
        field = f"{where}.{key}" if where else key
        self.that(key in obj, field, "missing")
        value = obj[key]
        if value is None and nullable:
            return
        ok = isinstance(value, typ) and not (typ is int and isinstance(value, bool))
        self.that(ok, field, f"expected {typ.__name__}{' or null' if nullable else ''}, got {_jtype(value)}")


def _jtype(value: Any) -> str:
    return {type(None): "null", bool: "boolean", int: "integer", float: "number", str: "string",
            list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _json_default(value: Any) -> Any:
    # Attribute values should already be JSON-safe; anything else is shown by its repr, never fails.
    if isinstance(value, (set, frozenset)):
        return sorted(map(str, value))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):  # str subclasses such as SafeString
        return str.__str__(value)
    return repr(value)
