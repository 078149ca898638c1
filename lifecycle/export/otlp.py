"""OTLP/JSON: a trace as an OpenTelemetry ``ExportTraceServiceRequest``, what an OTLP/HTTP collector takes
at ``/v1/traces`` with ``Content-Type: application/json`` (Jaeger, Grafana Tempo, the Collector).

The OTLP/JSON encoding (opentelemetry.io/docs/specs/otlp, "JSON Protobuf Encoding"): ids are hex, not
base64; 64-bit integers (times, ``intValue``) are decimal strings; enums are integers; keys lowerCamelCase.

Names follow the OpenTelemetry semantic conventions (HTTP server and client spans, database client spans,
code attributes, exception events); what has no convention keeps lifecycle's name under ``lifecycle.``:

- the root of a request is a ``SERVER`` span named ``GET /books/<int:pk>/`` (the route, else the method)
  with ``http.request.method``, ``url.path``, ``url.query``, ``url.scheme``, ``http.route``,
  ``http.response.status_code``, ``user_agent.original``, ``server.address``/``server.port``; ``ERROR``
  status with ``error.type`` when the summary has an error (an unhandled exception or a 5xx);
- ``sql`` spans are ``CLIENT`` spans with ``db.system.name`` (and the older ``db.system``),
  ``db.query.text``, ``db.operation.name``, ``db.namespace`` (the database's ``NAME`` when this process's
  settings have the alias), ``db.response.returned_rows``; ``http_out`` spans ``CLIENT`` spans with
  ``http.request.method``, ``url.full``, ``server.address``, ``server.port``,
  ``http.response.status_code``; other spans ``INTERNAL``;
- the innermost user frame of a span with a stack gives ``code.file.path``, ``code.line.number``,
  ``code.function.name`` (the whole stack ``code.stacktrace``); a view span's view is ``code.function.name``;
- ``exception`` spans (zero-length in lifecycle) become ``exception`` events of their parent span
  (``exception.type``, ``exception.message``); a span whose ``error`` attribute is set has ``ERROR`` status.

Trace ids: lifecycle's 16 hex characters are left-padded with zeros to 32 (how 64-bit ids are carried in
OpenTelemetry); another id is hashed. Span ids are the lifecycle id + 1, as 16 hex characters.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from lifecycle.trace import Span, Trace

SCOPE_NAME = "django-request-lifecycle"

# SpanKind and StatusCode (opentelemetry/proto/trace/v1/trace.proto).
KIND_INTERNAL, KIND_SERVER, KIND_CLIENT = 1, 2, 3
STATUS_UNSET, STATUS_OK, STATUS_ERROR = 0, 1, 2

# Django's ``connection.vendor`` -> db.system.name (stable, semconv 1.33+) and db.system (before).
_DB_SYSTEM_NAME = {"postgresql": "postgresql", "sqlite": "sqlite", "mysql": "mysql", "oracle": "oracle.db",
                   "microsoft": "microsoft.sql_server"}
_DB_SYSTEM = {"postgresql": "postgresql", "sqlite": "sqlite", "mysql": "mysql", "oracle": "oracle",
              "microsoft": "mssql"}
_HEX = re.compile(r"[0-9a-f]{1,32}\Z")
_ROOT_KINDS = frozenset({"request", "consumer"})


def trace_id(lifecycle_id: str) -> str:
    """32 hex characters for ``lifecycle_id``: its hex left-padded with zeros, else a hash of it."""
    lowered = lifecycle_id.lower()
    if _HEX.match(lowered) and lowered.strip("0"):
        return lowered.rjust(32, "0")
    return hashlib.sha256(lifecycle_id.encode()).hexdigest()[:32]


def span_id(lifecycle_span_id: int) -> str:
    return f"{lifecycle_span_id + 1:016x}"


def service_name() -> str:
    """``LIFECYCLE["OTLP_SERVICE_NAME"]``; by default the settings module's package (``shop`` for
    ``shop.settings``), else ``django``."""
    try:
        from lifecycle import conf

        name = conf.get("OTLP_SERVICE_NAME")
    except Exception:  # settings not configured: a trace converted outside a project
        name = None
    if isinstance(name, str) and name:
        return name
    module = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    return module.split(".", 1)[0] if "." in module else "django"


def _epoch_ns(started_at: str) -> int:
    try:
        when = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    except ValueError:
        return 0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def value(v: Any) -> dict[str, Any]:
    """An OTLP ``AnyValue``: scalars as themselves (int64 as a string), lists as ``arrayValue``, anything
    else as its JSON text."""
    kind = type(v)  # the common types first, by identity: this runs for every attribute of every span
    if kind is str:
        return {"stringValue": v}
    if kind is int and -(2**63) <= v < 2**63:
        return {"intValue": str(v)}
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)} if -(2**63) <= v < 2**63 else {"stringValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v} if v == v and v not in (float("inf"), float("-inf")) else {"stringValue": str(v)}
    if isinstance(v, str):
        return {"stringValue": str.__str__(v)}
    if isinstance(v, (list, tuple)) and all(isinstance(x, (str, bool, int, float)) for x in v):
        return {"arrayValue": {"values": [value(x) for x in v]}}
    return {"stringValue": orjson.dumps(v, default=repr).decode()}


def attributes(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": value(v)} for k, v in attrs.items() if v is not None]


def _header(headers: Any, name: str) -> str | None:
    if not isinstance(headers, dict):
        return None
    wanted = name.lower()
    for key, val in headers.items():
        if isinstance(key, str) and key.lower() == wanted and isinstance(val, str):
            return val
    return None


def _host_port(host: str | None, scheme: str | None) -> tuple[str | None, int | None]:
    if not host:
        return None, None
    try:
        parts = urlsplit(f"//{host}")
        port = parts.port
    except ValueError:
        return host, None
    if port is None and scheme in ("http", "https", "ws", "wss"):
        port = 443 if scheme in ("https", "wss") else 80
    return parts.hostname or host, port


def _route(trace: Trace) -> str | None:
    route = (trace.resolver or {}).get("route")
    if not isinstance(route, str) or not route:
        return None
    return route if route.startswith(("/", "^")) else "/" + route


def _code(stack: Any) -> dict[str, Any]:
    if not isinstance(stack, list) or not stack or not isinstance(stack[0], (list, tuple)) or len(stack[0]) < 3:
        return {}
    file, line, function = stack[0][:3]
    lines = [f'File "{f[0]}", line {f[1]}, in {f[2]}' for f in stack if isinstance(f, (list, tuple)) and len(f) >= 3]
    return {"code.file.path": file, "code.line.number": line, "code.function.name": function,
            "code.stacktrace": "\n".join(lines)}


def _database_name(alias: Any, cache: dict[Any, str | None]) -> str | None:
    if alias in cache:
        return cache[alias]
    try:
        from django.conf import settings

        name = settings.DATABASES.get(alias, {}).get("NAME") if isinstance(alias, str) else None
    except Exception:  # settings not configured: a trace converted outside a project
        name = None
    cache[alias] = str(name) if name else None
    return cache[alias]


def _lifecycle_attrs(span: Span, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    out: dict[str, Any] = {"lifecycle.kind": span.kind, "lifecycle.span_id": span.id}
    for key, val in span.attrs.items():
        if key not in skip:
            out[f"lifecycle.{key}"] = val
    return out


def _root_attrs(trace: Trace) -> tuple[str, dict[str, Any]]:
    req = trace.request
    method = req.get("method")
    route = _route(trace)
    scheme = req.get("scheme")
    attrs: dict[str, Any] = {}
    if trace.kind == "websocket":
        attrs["url.path"] = req.get("path")
        attrs["url.scheme"] = scheme
        attrs["lifecycle.event"] = req.get("event")
    else:
        attrs["http.request.method"] = method
        attrs["url.path"] = req.get("path")
        if req.get("query"):
            attrs["url.query"] = req.get("query")
        attrs["url.scheme"] = scheme
        attrs["http.route"] = route
        if trace.status is not None:
            attrs["http.response.status_code"] = trace.status
    headers = req.get("headers")
    attrs["user_agent.original"] = _header(headers, "User-Agent")
    host, port = _host_port(_header(headers, "Host"), scheme)
    attrs["server.address"] = host
    attrs["server.port"] = port
    resolver = trace.resolver or {}
    attrs["code.function.name"] = resolver.get("view")
    attrs["lifecycle.url_name"] = resolver.get("url_name")
    user = req.get("user")
    if isinstance(user, dict):
        attrs["enduser.id"] = str(user.get("id")) if user.get("id") is not None else None
    attrs["lifecycle.trace_id"] = trace.id
    if trace.kind == "websocket":
        name = trace.spans[0].name if trace.spans else "websocket"
    else:
        name = f"{method} {route}" if method and route else (method or (trace.spans[0].name if trace.spans else ""))
    return name, attrs


def _sql_attrs(span: Span, databases: dict[Any, str | None]) -> tuple[str, dict[str, Any]]:
    a = span.attrs
    vendor = str(a.get("vendor"))
    sql: str = a["sql"] if isinstance(a.get("sql"), str) else span.name
    operation = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else None
    rows = a.get("rows")
    attrs: dict[str, Any] = {
        "db.system.name": _DB_SYSTEM_NAME.get(vendor, "other_sql"),
        "db.system": _DB_SYSTEM.get(vendor, "other_sql"),
        "db.query.text": sql,
        "db.operation.name": operation,
        "db.namespace": _database_name(a.get("alias"), databases),
        # lifecycle's rows is the cursor's rowcount: rows returned only for a SELECT.
        "db.response.returned_rows": rows if isinstance(rows, int) and operation == "SELECT" else None,
        **_code(a.get("stack")),
        **_lifecycle_attrs(span, frozenset({"sql", "stack"})),
    }
    return span.name, attrs


def _http_out_attrs(span: Span) -> tuple[str, dict[str, Any]]:
    a = span.attrs
    url = a.get("url") if isinstance(a.get("url"), str) else ""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
        if port is None and parts.scheme in ("http", "https"):
            port = 443 if parts.scheme == "https" else 80
    except ValueError:
        host, port = None, None
    attrs: dict[str, Any] = {
        "http.request.method": a.get("method"),
        "url.full": url or None,
        "server.address": host,
        "server.port": port,
        "http.response.status_code": a.get("status") if isinstance(a.get("status"), int) else None,
        "http.request.body.size": a.get("request_size"),
        "http.response.body.size": a.get("response_size"),
        **_code(a.get("stack")),
        **_lifecycle_attrs(span, frozenset({"method", "url", "status", "stack", "request_size", "response_size"})),
    }
    return span.name, attrs


def _error_type(error: Any) -> str:
    text = str(error)
    head = text.split(":", 1)[0].strip()
    return head if head and " " not in head else "_OTHER"


def _span(trace: Trace, span: Span, base_ns: int, ends: dict[int, int], tid: str,
          events: list[dict[str, Any]], databases: dict[Any, str | None]) -> dict[str, Any]:
    start = base_ns + span.start_ns
    end_offset = span.start_ns + span.duration_ns if span.duration_ns is not None else ends.get(span.parent_id or -1)
    end = base_ns + (end_offset if end_offset is not None else span.start_ns)
    kind = KIND_INTERNAL
    status: dict[str, Any] = {}
    if span.parent_id is None and span.kind in _ROOT_KINDS:
        kind = KIND_SERVER
        name, attrs = _root_attrs(trace)
        error = trace.summary.get("error") if isinstance(trace.summary, dict) else None
        if error:
            status = {"code": STATUS_ERROR, "message": str(error)}
            # An exception's type, else the status code (semconv: error.type).
            attrs["error.type"] = str(trace.status) if str(error).startswith("HTTP ") else _error_type(error)
        attrs.update(_lifecycle_attrs(span, frozenset({"method", "path"})))
    elif span.kind == "request":  # a request inside a lifecycle.record() block
        kind = KIND_SERVER
        name = span.name
        attrs = {"http.request.method": span.attrs.get("method"), "url.path": span.attrs.get("path"),
                 "http.response.status_code": span.attrs.get("status"), **_lifecycle_attrs(span)}
    elif span.kind == "sql":
        kind = KIND_CLIENT
        name, attrs = _sql_attrs(span, databases)
    elif span.kind == "http_out":
        kind = KIND_CLIENT
        name, attrs = _http_out_attrs(span)
    else:
        name = span.name
        attrs = {**_code(span.attrs.get("stack")), **_lifecycle_attrs(span, frozenset({"stack"}))}
        if span.kind == "view" and isinstance(span.attrs.get("view"), str):
            attrs["code.function.name"] = span.attrs["view"]
    error = span.attrs.get("error")
    if error and not status:
        status = {"code": STATUS_ERROR, "message": str(error)}
        attrs.setdefault("error.type", _error_type(error))
    out: dict[str, Any] = {
        "traceId": tid,
        "spanId": span_id(span.id),
        "name": name or span.kind,
        "kind": kind,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(max(start, end)),
        "attributes": attributes(attrs),
    }
    if span.parent_id is not None:
        out["parentSpanId"] = span_id(span.parent_id)
    if events:
        out["events"] = events
    if status:
        out["status"] = status
    return out


def _exception_event(span: Span, base_ns: int) -> dict[str, Any]:
    a = span.attrs
    attrs = {"exception.type": a.get("type") or span.name, "exception.message": a.get("message"),
             "lifecycle.handled": a.get("handled"), "lifecycle.span_id": span.id}
    stack = a.get("stack")
    if isinstance(stack, list) and stack:
        attrs["exception.stacktrace"] = _code(stack).get("code.stacktrace")
    return {"timeUnixNano": str(base_ns + span.start_ns), "name": "exception", "attributes": attributes(attrs)}


def spans(trace: Trace) -> list[dict[str, Any]]:
    """The OTLP spans of ``trace`` (its ``exception`` spans as events of their parents)."""
    base = _epoch_ns(trace.started_at)
    tid = trace_id(trace.id)
    events: dict[int, list[dict[str, Any]]] = {}
    kept: list[Span] = []
    ends: dict[int, int] = {}
    for span in trace.spans:
        if span.kind == "exception" and span.parent_id is not None and span.attrs.get("type") is not None:
            events.setdefault(span.parent_id, []).append(_exception_event(span, base))
            continue
        kept.append(span)
        if span.duration_ns is not None:
            ends[span.id] = span.start_ns + span.duration_ns
        elif span.parent_id is not None and span.parent_id in ends:
            ends[span.id] = ends[span.parent_id]
        elif trace.duration_ns is not None:
            ends[span.id] = trace.duration_ns
    databases: dict[Any, str | None] = {}
    return [_span(trace, span, base, ends, tid, events.get(span.id, []), databases) for span in kept]


def resource() -> dict[str, Any]:
    from lifecycle import __version__

    return {"attributes": attributes({"service.name": service_name(), "telemetry.sdk.name": SCOPE_NAME,
                                      "telemetry.sdk.language": "python", "telemetry.sdk.version": __version__})}


def request(traces: list[Trace]) -> dict[str, Any]:
    """One ``ExportTraceServiceRequest`` holding the spans of ``traces`` (one resource, one scope)."""
    from lifecycle import __version__

    all_spans: list[dict[str, Any]] = []
    for trace in traces:
        all_spans.extend(spans(trace))
    return {"resourceSpans": [{
        "resource": resource(),
        "scopeSpans": [{"scope": {"name": SCOPE_NAME, "version": __version__}, "spans": all_spans}],
    }]}


def write(trace: Trace) -> bytes:
    return orjson.dumps(request([trace]))
