"""Redaction: secrets are replaced before anything leaves the process (configured in ``conf``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote

import orjson

from lifecycle import conf
from lifecycle.conf import REDACTED

_sensitive_cache: dict[str, bool] = {}
_sql_cache: dict[str, bool] = {}
# Per ``META`` key: the header's name as sent and whether its value is secret, or None (not a header).
# WSGI servers put the whole process environment in ``META``; each key is looked at once, not per request.
_meta_keys: dict[str, tuple[str, bool] | None] = {}
# Per response header name: whether its value is secret.
_response_secret: dict[str, bool] = {}
_CACHE_SIZE = 2048


_secret_headers: frozenset[str] | None = None


@conf.on_reset
def _clear() -> None:
    global _secret_headers
    _sensitive_cache.clear()
    _sql_cache.clear()
    _meta_keys.clear()
    _response_secret.clear()
    _secret_headers = None


def _secret_header_names() -> frozenset[str]:
    global _secret_headers
    if _secret_headers is None:
        _secret_headers = frozenset(h.lower() for h in conf.get("REDACT_HEADERS"))
    return _secret_headers


def _mentions(cache: dict[str, bool], text: str, words: tuple[str, ...]) -> bool:
    """Whether ``text`` contains one of ``words`` (case-insensitive), cached by text."""
    hit = cache.get(text)
    if hit is None:
        low = text.lower()
        hit = _remember(cache, text, any(word in low for word in words))
    return hit


def _remember(cache: dict, key: Any, value: Any) -> Any:
    """``cache[key] = value``, the cache emptied first when full (these caches are per name or text)."""
    if len(cache) > _CACHE_SIZE:
        cache.clear()
    cache[key] = value
    return value


def sensitive_name(name: str) -> bool:
    return _mentions(_sensitive_cache, name, conf.get("REDACT_FIELDS"))


def sensitive_sql(sql: str) -> bool:
    return _mentions(_sql_cache, sql, conf.get("REDACT_SQL_PATTERNS"))


def cap(text: str, limit: int | None = None) -> str:
    limit = limit or conf.get("MAX_VALUE_LENGTH")
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} chars)"


def _meta_key(key: str) -> tuple[str, bool] | None:
    if key.startswith("HTTP_"):
        name = key[5:].replace("_", "-").title()
    elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        name = key.replace("_", "-").title()
    else:
        name = None
    entry = None if name is None else (name, name.lower() in _secret_header_names() or sensitive_name(name))
    return _remember(_meta_keys, key, entry)


def _header_value(value: Any, secret: bool, limit: int) -> str:
    if secret:
        return REDACTED
    text = value if type(value) is str else str(value)
    return text if len(text) <= limit else cap(text, limit)


def headers(meta: dict[str, Any]) -> dict[str, str]:
    """Request headers from a WSGI/ASGI ``META`` dict, named as sent, secrets redacted."""
    limit = conf.get("MAX_VALUE_LENGTH")
    known = _meta_keys
    out: dict[str, str] = {}
    for key, value in meta.items():
        entry = known.get(key, False)
        if entry is False:
            entry = _meta_key(key)
        if entry is None:
            continue
        name, secret = entry
        out[name] = _header_value(value, secret, limit)
    return out


def response_headers(items) -> dict[str, str]:
    limit = conf.get("MAX_VALUE_LENGTH")
    known = _response_secret
    out: dict[str, str] = {}
    for key, value in items:
        secret = known.get(key)
        if secret is None:
            secret = _remember(known, key, key.lower() in _secret_header_names())
        out[key] = _header_value(value, secret, limit)
    return out


def query_string(qs: str) -> str:
    """A query string with the values of secret-looking fields redacted."""
    if not qs:
        return ""
    pairs = parse_qsl(qs, keep_blank_values=True)
    return "&".join(
        f"{quote(k)}={REDACTED if sensitive_name(k) else quote(cap(v))}" for k, v in pairs
    )


def _redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if isinstance(k, str) and sensitive_name(k) else _redact_json(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    return value


def body(raw: bytes, content_type: str) -> tuple[str | None, str | None]:
    """``(body, omitted_reason)``: a small body with secret fields redacted, or why it was not kept."""
    limit = conf.get("MAX_BODY")
    if not raw:
        return None, None
    if len(raw) > limit:
        return None, f"too large ({len(raw)} bytes > MAX_BODY {limit})"
    ctype = content_type.split(";", 1)[0].strip().lower()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "binary"
    if ctype == "application/x-www-form-urlencoded":
        return query_string(text), None
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            return orjson.dumps(_redact_json(orjson.loads(text))).decode(), None
        except orjson.JSONDecodeError:
            return None, "invalid JSON"
    if ctype.startswith("multipart/"):
        return None, "multipart"
    if ctype.startswith("text/") or ctype in ("application/xml", ""):
        return text, None
    return None, f"content type {ctype}"


def sql_params(sql: str, params: Any, many: bool, *, secret: bool | None = None,
               limit: int | None = None) -> list[str]:
    """Parameters as display strings; all redacted when the SQL touches a secret-looking column.

    ``secret`` (whether ``sql`` is secret-looking) and ``limit`` (``MAX_VALUE_LENGTH``) may be passed by a
    caller that already knows them: this runs for every query of every trace.
    """
    if params is None:
        return []
    if many:
        try:
            count = len(params)
        except TypeError:
            count = "?"
        return [f"<{count} parameter sets>"]
    if secret is None:
        secret = sensitive_sql(sql)
    cls = type(params)
    if cls is tuple or cls is list:
        items = params
    elif isinstance(params, dict):
        items = list(params.values())
    else:
        try:
            items = list(params)
        except TypeError:
            items = [params]
    if secret:
        return [REDACTED] * len(items)
    if limit is None:
        limit = conf.get("MAX_VALUE_LENGTH")
    out = []
    for value in items:
        cls = type(value)
        if cls is str:
            text = value
        elif cls is int:
            text = repr(value)
        elif value is None:
            out.append("NULL")
            continue
        elif isinstance(value, (bytes, bytearray, memoryview)):
            out.append(f"<{len(value)} bytes>")
            continue
        else:
            text = str(value) if isinstance(value, str) else repr(value)
        out.append(text if len(text) <= limit else cap(text, limit))
    return out


def cache_key(key: Any) -> str:
    text = str(key)
    if "session" in text.lower():
        # Session keys are credentials: keep the prefix, hide the key.
        head = text.rsplit(".", 1)[0] if "." in text else "session"
        return f"{head}.{REDACTED}"
    return cap(text)
