"""Redacting each carrier: query strings, URLs, headers, bodies of any type, free text, SQL parameters.

Every function applies the one policy of ``lifecycle.redact.words`` (secret names as words, credential-
shaped values) and ``lifecycle.redact.paths`` (URL arguments with secret names). The hot path (headers
and the query string of every request) does one cached lookup per name and a substring test per value;
regular expressions run only over text that can hold a secret (a URL with a query, a body, a message).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any, Literal
from urllib.parse import quote, unquote_plus

import orjson

from lifecycle import conf
from lifecycle.conf import REDACTED
from lifecycle.redact import paths
from lifecycle.redact.words import (
    JWT,
    SCHEME_CREDENTIALS,
    remember,
    sensitive_header,
    sensitive_name,
)

ALL = "__ALL__"  # Django's sensitive_post_parameters() without names: every field is secret
Extra = Collection[str] | str | None  # more secret field names (sensitive_post_parameters), or ALL

_sql_cache: dict[str, bool] = {}
# Per ``META`` key: the header's name as sent and its kind, or None (not a header). WSGI servers put the
# whole process environment in ``META``; each key is looked at once, not per request.
_meta_keys: dict[str, tuple[str, int] | None] = {}
# Per response header name: its kind.
_response_kind: dict[str, int] = {}
_PLAIN, _SECRET, _URL = 0, 1, 2
# Headers whose value is a URL (or holds URLs): their query strings, fragments and userinfo are redacted.
URL_HEADERS = frozenset({"referer", "origin", "location", "content-location", "link", "refresh"})


@conf.on_reset
def _clear() -> None:
    _sql_cache.clear()
    _meta_keys.clear()
    _response_kind.clear()


def _header_kind(name: str) -> int:
    if sensitive_header(name):
        return _SECRET
    return _URL if name.lower() in URL_HEADERS else _PLAIN


def sensitive_sql(sql: str) -> bool:
    """Whether ``sql`` mentions one of ``REDACT_SQL_PATTERNS`` (substrings of the statement's text)."""
    hit = _sql_cache.get(sql)
    if hit is None:
        low = sql.lower()
        hit = remember(_sql_cache, sql, any(p in low for p in conf.get("REDACT_SQL_PATTERNS")))
    return hit


def cap(text: str, limit: int | None = None) -> str:
    limit = limit or conf.get("MAX_VALUE_LENGTH")
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} chars)"


def _secret(name: str, extra: Extra) -> bool:
    return extra == ALL or sensitive_name(name) or (extra is not None and name in extra)


# -- values, whatever their name ---------------------------------------------------------------------------


def value(text: str) -> str:
    """A value whose name is not secret: credentials inside it (a JWT, a URL's query) redacted."""
    if "eyJ" in text:
        text = JWT.sub(REDACTED, text)
    if "://" in text or (text.startswith("/") and ("?" in text or "#" in text)):
        text = url(text)
    return text


# -- query strings and URLs --------------------------------------------------------------------------------


def pairs(text: str, extra: Extra = None, *, limit: int | None = None) -> str:
    """``a=1&password=x`` with secret values redacted; other pairs are kept as written (long ones cut)."""
    if not text:
        return ""
    limit = limit or conf.get("MAX_VALUE_LENGTH")
    out = []
    for pair in text.split("&"):
        key, eq, raw = pair.partition("=")
        name = unquote_plus(key) if "%" in key or "+" in key else key
        if _secret(name, extra):
            out.append(f"{key}={REDACTED}")
            continue
        if not eq:
            out.append(pair)
            continue
        decoded = unquote_plus(raw) if "%" in raw or "+" in raw else raw
        shown = value(decoded)
        if shown is not decoded or len(decoded) > limit:
            out.append(f"{key}={quote(cap(shown, limit), safe='*/:')}")
        else:
            out.append(pair)
    return "&".join(out)


def query_string(qs: str, extra: Extra = None) -> str:
    """A query string (or a form body) with the values of secret-named fields redacted."""
    return pairs(qs, extra)


def url(text: str) -> str:
    """A URL or path: secret query and fragment values, the userinfo's password and the path segments
    bound to secret-named URL arguments redacted."""
    has_parts = "?" in text or "#" in text or "@" in text
    if not has_parts and not paths.active():
        return text
    rest, hash_, fragment = text.partition("#")
    rest, qmark, query = rest.partition("?")
    head, path = "", rest
    if "://" in rest:
        scheme, _, after = rest.partition("://")
        netloc, slash, tail = after.partition("/")
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user, colon, _ = userinfo.partition(":")
            netloc = f"{user}:{REDACTED}@{host}" if colon else f"{REDACTED}@{host}"
        head, path = f"{scheme}://{netloc}", slash + tail
    if path.startswith("/"):
        path = paths.redact(path)
    out = head + path
    if qmark:
        out += "?" + pairs(query)
    if hash_:
        out += "#" + (pairs(fragment) if "=" in fragment else value(fragment))
    return out


# -- headers -----------------------------------------------------------------------------------------------


def _meta_key(key: str) -> tuple[str, int] | None:
    if key.startswith("HTTP_"):
        name = key[5:].replace("_", "-").title()
    elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        name = key.replace("_", "-").title()
    else:
        name = None
    entry = None if name is None else (name, _header_kind(name))
    return remember(_meta_keys, key, entry)


def _header_value(raw: Any, kind: int, limit: int) -> str:
    if kind == _SECRET:
        return REDACTED
    text = raw if type(raw) is str else str(raw)
    if kind == _URL:
        text = _url_header(text)
    elif "eyJ" in text:
        text = JWT.sub(REDACTED, text)
    return text if len(text) <= limit else cap(text, limit)


_BRACKETED = re.compile(r"<([^>]*)>")
_REFRESH = re.compile(r"(?i)(url\s*=\s*['\"]?)([^'\"]*)")


def _url_header(text: str) -> str:
    if text.startswith("<"):  # Link: <url>; rel=next, <url>; rel=prev
        return _BRACKETED.sub(lambda m: f"<{url(m.group(1))}>", text)
    if ";" in text and "=" in text and text[:1].isdigit():  # Refresh: 5; url=/next/
        return _REFRESH.sub(lambda m: m.group(1) + url(m.group(2)), text, count=1)
    return url(text)


def header_value(name: str, raw: Any) -> str:
    """One header's value as a trace shows it (request or response: the same rules)."""
    return _header_value(raw, _header_kind(name), conf.get("MAX_VALUE_LENGTH"))


def headers(meta: dict[str, Any]) -> dict[str, str]:
    """Request headers from a WSGI/ASGI ``META`` dict, named as sent, secrets redacted."""
    limit = conf.get("MAX_VALUE_LENGTH")
    known = _meta_keys
    out: dict[str, str] = {}
    for key, raw in meta.items():
        entry: tuple[str, int] | None | Literal[False] = known.get(key, False)
        if entry is False:
            entry = _meta_key(key)
        if entry is None:
            continue
        name, kind = entry
        out[name] = _header_value(raw, kind, limit)
    return out


def response_headers(items: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Response headers, by the same rules as request headers."""
    limit = conf.get("MAX_VALUE_LENGTH")
    known = _response_kind
    out: dict[str, str] = {}
    for key, raw in items:
        kind = known.get(key)
        if kind is None:
            kind = remember(known, key, _header_kind(key))
        out[key] = _header_value(raw, kind, limit)
    return out


# -- bodies ------------------------------------------------------------------------------------------------

# In a JSON object such as {"name": "password", "value": "x"} (form builders, settings APIs), the field
# naming the other one, and the fields holding its value.
_NAMING = ("name", "key", "field", "param", "id", "label")
_HOLDING = ("value", "values", "val")


def json_value(obj: Any, extra: Extra = None) -> Any:
    """A parsed JSON document with the values of secret keys (and credential-shaped strings) redacted."""
    if isinstance(obj, dict):
        named = any(isinstance(obj.get(f), str) and _secret(obj[f], extra) for f in _NAMING if f in obj)
        return {k: REDACTED if (isinstance(k, str) and _secret(k, extra)) or (named and k in _HOLDING)
                else json_value(v, extra) for k, v in obj.items()}
    if isinstance(obj, list):
        return [json_value(v, extra) for v in obj]
    if isinstance(obj, str) and ("=" in obj or ":" in obj or "eyJ" in obj):
        return text(obj, extra)
    return obj


def _json_text(raw: str, extra: Extra) -> str | None:
    try:
        return orjson.dumps(json_value(orjson.loads(raw), extra)).decode()
    except orjson.JSONDecodeError:
        return None


def body(raw: bytes, content_type: str, extra: Extra = None, *,
         setting: str = "MAX_BODY") -> tuple[str | None, str | None]:
    """``(body, omitted_reason)``: a small body with secret fields redacted, or why it was not kept.

    ``extra``: the view's ``sensitive_post_parameters`` (names, or ``"__ALL__"``), secret whatever their
    names. Form bodies keep their field names; JSON keeps its keys; other text (``text/plain``, XML, no
    content type) has its ``key=value``, ``key: value``, ``<key>value</key>`` pairs, URLs and tokens
    redacted, and is read as JSON when it is JSON. ``setting``: the size limit (``MAX_BODY`` for request
    bodies, ``RESPONSE_BODY_BYTES`` for responses)."""
    limit = conf.get(setting)
    if not raw:
        return None, None
    if len(raw) > limit:
        return None, f"too large ({len(raw)} bytes > {setting} {limit})"
    ctype = content_type.split(";", 1)[0].strip().lower()
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "binary"
    if ctype == "application/x-www-form-urlencoded":
        return pairs(decoded, extra), None
    if ctype == "application/json" or ctype.endswith("+json"):
        shown = _json_text(decoded, extra)
        return (shown, None) if shown is not None else (None, "invalid JSON")
    if ctype.startswith("multipart/"):
        return None, "multipart"
    if ctype.startswith("text/") or ctype in ("application/xml", ""):
        if extra == ALL:
            return None, "sensitive_post_parameters"
        stripped = decoded.lstrip()
        if stripped[:1] in ("{", "["):
            shown = _json_text(decoded, extra)
            if shown is not None:
                return shown, None
        return text(decoded, extra), None
    return None, f"content type {ctype}"


def form_value(name: str, raw: str, extra: Extra = None) -> str:
    """One field of a parsed (multipart) form."""
    return REDACTED if _secret(name, extra) else cap(value(raw))


# -- free text: exception messages, log lines, text bodies -------------------------------------------------

_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
# A name and its separator: "password=", "token: ", '"api_key": '. The value is then read by hand, so that
# a pair's value never swallows the next pair ("failed: password=x").
_KEY = re.compile(r"""(?P<k>[A-Za-z_][\w.\-]*)["']?\s*[:=]\s*""")
_VALUE_END = re.compile(r"""[\s&,;"'<>()\[\]{}]""")
_XML = re.compile(r"<(?P<t>[A-Za-z_][\w.\-:]*)(?P<a>[^>]*)>(?P<v>[^<]*)</(?P=t)>")


def text(s: str, extra: Extra = None) -> str:
    """Free text with URLs, ``Bearer``/``Basic`` credentials, JWTs and secret-named ``key=value``,
    ``key: value``, ``"key": "value"`` and ``<key>value</key>`` pairs redacted."""
    if not s:
        return s
    if "://" in s:
        s = _URL_IN_TEXT.sub(lambda m: url(m.group(0)), s)
    if "eyJ" in s:
        s = JWT.sub(REDACTED, s)
    s = SCHEME_CREDENTIALS.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", s)

    if "=" in s or ":" in s:
        s = _pairs_in_text(s, extra)
    if "</" in s:
        s = _XML.sub(lambda m: f"<{m.group('t')}{m.group('a')}>{REDACTED}</{m.group('t')}>"
                     if _secret(m.group("t"), extra) else m.group(0), s)
    return s


# PostgreSQL's DETAIL of a constraint error quotes the row's values: ``Key (api_token)=(abc123) already
# exists.``, ``Key (a, secret)=(1, x) is not present in table "t".``
_DB_KEY = re.compile(r"\bKey \((?P<k>[^()]*)\)=\((?P<v>.*?)\)(?=[\s.,;]|$)", re.S)


def _db_key(m: re.Match) -> str:
    names = [n.strip().strip('"') for n in m.group("k").split(",")]
    if not any(_secret(n, None) for n in names):
        return m.group(0)
    return f"Key ({m.group('k')})=({REDACTED})"


def error(exc: BaseException) -> str:
    """``"TypeName: message"`` of an exception recorded on a span, redacted as free text (and the values of
    secret columns that a database's constraint error quotes) and capped."""
    message = f"{type(exc).__name__}: {exc}"
    if "Key (" in message:
        message = _DB_KEY.sub(_db_key, message)
    return cap(text(message))


def _pairs_in_text(s: str, extra: Extra) -> str:
    spans: list[tuple[int, int]] = []
    for m in _KEY.finditer(s):
        if not _secret(m.group("k"), extra):
            continue
        start = m.end()
        if start < len(s) and s[start] in "\"'":
            close = s.find(s[start], start + 1)
            if close == -1 or "\n" in s[start:close]:
                continue
            start, end = start + 1, close
        else:
            stop = _VALUE_END.search(s, start)
            end = stop.start() if stop else len(s)
        if end > start and (not spans or start >= spans[-1][1]):
            spans.append((start, end))
    for start, end in reversed(spans):
        s = s[:start] + REDACTED + s[end:]
    return s


def scrub(s: str, secrets: Collection[str]) -> str:
    """``s`` with known secret values (URL arguments, sensitive variables) replaced: an equal value
    whatever its length, a longer text only for values of 6 characters or more (shorter ones would
    garble it)."""
    for secret in secrets:
        if s == secret:
            return REDACTED
        if len(secret) >= 6 and secret in s:
            s = s.replace(secret, REDACTED)
    return s


# -- SQL parameters and cache keys -------------------------------------------------------------------------


def sql_param_values(params: Any) -> list | tuple:
    """The values of one parameter set as the driver took them: a list or tuple as it is, a dict's values, an
    iterable's items, or a lone value (a driver that took it as it was)."""
    cls = type(params)
    if cls is tuple or cls is list:
        return params
    if isinstance(params, dict):
        return list(params.values())
    try:
        return list(params)
    except TypeError:
        return [params]


def sql_params(sql: str, params: Any, many: bool, *, secret: bool | None = None,
               limit: int | None = None) -> list[str]:
    """Parameters as display strings; all redacted when the SQL touches a secret-looking column.

    ``secret`` (whether ``sql`` is secret-looking) and ``limit`` (``MAX_VALUE_LENGTH``) may be passed by a
    caller that already knows them: this runs for every query of every trace.
    """
    if params is None:
        return []
    if many:
        count: int | str
        try:
            count = len(params)
        except TypeError:
            count = "?"
        return [f"<{count} parameter sets>"]
    if secret is None:
        secret = sensitive_sql(sql)
    items = sql_param_values(params)
    if secret:
        return [REDACTED] * len(items)
    if limit is None:
        limit = conf.get("MAX_VALUE_LENGTH")
    out = []
    for item in items:
        cls = type(item)
        if cls is str:
            shown = item
        elif cls is int:
            shown = repr(item)
        elif item is None:
            out.append("NULL")
            continue
        elif isinstance(item, (bytes, bytearray, memoryview)):
            out.append(f"<{len(item)} bytes>")
            continue
        else:
            shown = str(item) if isinstance(item, str) else repr(item)
        out.append(shown if len(shown) <= limit else cap(shown, limit))
    return out


def cache_key(key: Any) -> str:
    shown = str(key)
    if "session" in shown.lower():
        # Session keys are credentials: keep the prefix, hide the key.
        head = shown.rsplit(".", 1)[0] if "." in shown else "session"
        return f"{head}.{REDACTED}"
    return cap(shown)
