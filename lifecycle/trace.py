"""The one data shape: a trace of spans, and its versioned JSON form.

This module imports nothing else of ours but ``trace_schema`` and ``fingerprint`` (for the list row).
``docs/trace-format.md`` describes every field, ``lifecycle/schema/trace-v1.json`` is its JSON Schema (what a
valid file is: ``lifecycle.trace_schema`` applies it when a trace is read) and
``frontend/src/lib/trace-format.ts`` mirrors it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from lifecycle import trace_schema
from lifecycle.fingerprint import fingerprint

FORMAT = "lifecycle-trace"
VERSION = 1


# What a list row carries of a trace's content, for the dashboard's sql: and template: filters: at most this
# many distinct statements (normalized, each cut to ROW_SQL_CHARS) and template names; and the query string
# cut to ROW_QUERY_CHARS. A row stays small: the backlog holds RECENT_TRACES of them.
ROW_ITEMS = 20
ROW_SQL_CHARS = 160
ROW_QUERY_CHARS = 200

_HINTS = {
    "format": ": this is not a django-request-lifecycle trace",
    "version": f" (this version of lifecycle reads trace format version {VERSION})",
}


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
                 "dropped", "kind", "kinds")

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
        kind: str = "request",
        kinds: dict[str, dict[str, str]] | None = None,
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
        # What the trace is of: "request" (an HTTP request), "websocket" (a Channels consumer's event).
        self.kind = kind
        # How its span kinds are drawn: {kind: {"label", "symbol", "color"}} (lifecycle.kinds.describe).
        self.kinds = kinds if kinds is not None else {}

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
            "kind": self.kind,
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
            "event": self.request.get("event"),  # a websocket trace's consumer event; None for a request
            # Already redacted in the trace's request (lifecycle.capture.request_info, redact_trace).
            "query": _cut(self.request.get("query") or "", ROW_QUERY_CHARS),
            "user": _username(self.request.get("user")),
            **self._content(),
        }

    def _content(self) -> dict[str, list[str]]:
        """The distinct SQL statements (normalized: literals as ``?``) and template names of the trace, in
        the order they first ran, capped (``ROW_ITEMS``). Comprehensions: this runs for every request."""
        spans = self.spans
        texts = dict.fromkeys([s.attrs.get("sql") for s in spans if s.kind == "sql"])
        names = dict.fromkeys([s.attrs.get("template", s.name) for s in spans if s.kind == "template"])
        sql: dict[str, None] = {}
        for text in texts:
            if isinstance(text, str):
                sql[_cut(fingerprint(text)[1], ROW_SQL_CHARS)] = None
                if len(sql) == ROW_ITEMS:
                    break
        return {"sql": list(sql), "templates": [n for n in names if isinstance(n, str)][:ROW_ITEMS]}

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
            "kind": self.kind,
            "kinds": self.kinds,
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
        """Check ``obj`` against the trace format (``lifecycle.trace_schema``); a ``TraceFormatError`` names
        ``source``, the field and what was expected instead of what came."""
        try:
            trace_schema.validate(obj)
        except trace_schema.Invalid as exc:
            at = f" field {exc.path!r}:" if exc.path else ""
            raise TraceFormatError(f"{source}:{at} {exc.message}{_HINTS.get(exc.path, '')}") from None
        return cls.from_valid_dict(obj)

    @classmethod
    def from_valid_dict(cls, obj: Any) -> Trace:
        """A trace from a dict already known to follow the format (one this process wrote): no check."""
        spans = [Span(s["id"], s["parent_id"], s["kind"], s["name"], s["start_ns"], s["duration_ns"], s["attrs"])
                 for s in obj["spans"]]
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
            kind=obj["kind"] if isinstance(obj.get("kind"), str) else "request",
            kinds=obj["kinds"] if isinstance(obj.get("kinds"), dict) else {},
        )

    def __repr__(self) -> str:
        return f"<Trace {self.id} {self.request.get('method')} {self.request.get('path')} {len(self.spans)} spans>"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _username(user: Any) -> str | None:
    name = user.get("username") if isinstance(user, dict) else None
    return name if isinstance(name, str) else None


def _json_default(value: Any) -> Any:
    # Attribute values should already be JSON-safe; anything else is shown by its repr, never fails.
    if isinstance(value, (set, frozenset)):
        return sorted(map(str, value))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):  # str subclasses such as SafeString
        return str.__str__(value)
    return repr(value)
