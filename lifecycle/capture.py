"""What a trace keeps of the HTTP request and response, redacted and size-capped."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.functional import empty

from lifecycle import conf, redact

NOT_READ = "not read by the site"  # body_omitted of a body the site never read (nor did we)


def request_info(request, path: str | None = None, *, body: bool = True) -> dict[str, Any]:
    """``path``: ``request.path`` already redacted (``lifecycle.redact.paths.request_path``), if known.

    ``body=False`` when the request has not run yet: its body is added by :func:`add_body` once the site
    has read it (or not)."""
    meta = request.META
    content_type = meta.get("CONTENT_TYPE", "") or ""
    if path is None:
        path = redact.paths.request_path(request)[0]
    info: dict[str, Any] = {
        "method": request.method,
        "path": path,
        "query": redact.query_string(meta.get("QUERY_STRING", "") or ""),
        "headers": redact.headers(meta),
        "body": None,
        "body_omitted": None,
        "content_type": content_type,
        "scheme": request.scheme,
        "user": None,
    }
    if body:
        add_body(info, request)
    return info


def add_body(info: dict[str, Any], request) -> None:
    """Set ``info``'s body (and the form of a multipart request) from what the site itself read.

    Never reads: reading the body before the view (or instead of it) changes what the site does. A
    view that calls ``request.read()`` and then ``request.body`` must get its ``RawPostDataException``,
    a broken client stream its ``UnreadablePostError``, and a client that announces more bytes than it
    sends must not hang a view that answers without reading. So the body is taken from Django's own
    copy (``request._body``, set once ``request.body`` or a urlencoded ``request.POST`` was read), the
    form from the parsed ``request.POST``; otherwise ``body_omitted`` says why there is none. Fields the
    view marks ``@sensitive_post_parameters`` are redacted (the mark is set when the view runs)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    extra = redact.marks.post_parameters(request)
    info["body"], info["body_omitted"] = _body(request, request.META.get("CONTENT_TYPE", "") or "", extra)
    if info["body_omitted"] == "multipart":
        info["form"] = multipart_form(request, extra)


def _body(request, content_type: str, extra: Any = None) -> tuple[str | None, str | None]:
    limit = conf.get("MAX_BODY")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        return None, f"too large ({length} bytes > MAX_BODY {limit})"
    state = request.__dict__  # what the site has done with its request, read without triggering anything
    raw = state.get("_body")
    if raw is not None:
        return redact.body(raw, content_type, extra)
    if length == 0:
        return None, None
    if content_type.startswith("multipart/") and state.get("_post") is not None:
        return None, "multipart"
    if not state.get("_read_started"):
        most = getattr(settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", None)
        if isinstance(most, int) and length > most:
            return None, f"not read: Content-Length {length} > DATA_UPLOAD_MAX_MEMORY_SIZE {most}"
        return None, NOT_READ
    if getattr(state.get("_stream"), "closed", False):
        return None, "the site's read failed"  # request.body closes the stream, also when its read raises
    return None, "read as a stream by the site"


def marked_post_values(request) -> list[str]:
    """The values of the fields a view marks ``@sensitive_post_parameters`` that the site parsed (to be
    replaced wherever else they appear in the trace)."""
    marked = redact.marks.post_parameters(request)
    if marked is None:
        return []
    return redact.marks.post_values(request, marked)


def multipart_form(request, extra: Any = None) -> dict[str, list[str]] | None:
    """The fields of a multipart form the site parsed (files by name only), secrets redacted.

    The site may have put values of its own there (Django's ``UserAdmin`` sets
    ``request.POST["_continue"] = 1``): numbers are shown as text, other objects by their type."""
    post = request.__dict__.get("_post")
    if post is None:
        return None
    if extra is None:
        extra = redact.marks.post_parameters(request)
    form = {k: [redact.form_value(k, _field_text(v), extra) for v in post.getlist(k)] for k in post}
    files = request.__dict__.get("_files")
    if files:
        form.update({k: [f"<file {_field_text(getattr(f, 'name', f))}>" for f in files.getlist(k)]
                     for k in files})
    return form


def _field_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, (int, float)):
        return str(value)
    return f"<{type(value).__name__}>"


def user_info(request) -> dict[str, Any] | None:
    """The user the request was made by, only if the site already loaded it (we never run a query of our
    own). A request that logged in or out (Django's ``login`` and ``logout`` give the session a new key)
    was not made by the user it ends with: None, so that a replay of a login request is anonymous."""
    lazy = request.__dict__.get("user")
    if lazy is None:
        return None
    session = request.__dict__.get("session")
    if session is not None:
        try:
            incoming = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
            if session.session_key != incoming:
                return None
        except Exception:
            return None
    return loaded_user(lazy)


def loaded_user(user) -> dict[str, Any] | None:
    """``{"id", "username"}`` of an authenticated user, unwrapping a lazy object only if it was already
    evaluated (a ``SimpleLazyObject`` or Channels' ``UserLazyObject`` not yet loaded is left alone: loading
    it would run queries of ours); None otherwise."""
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is empty or not getattr(wrapped, "is_authenticated", False):
        return None
    try:
        return {"id": wrapped.pk, "username": wrapped.get_username()}
    except Exception:
        return None


def response_info(response) -> dict[str, Any]:
    streaming = bool(getattr(response, "streaming", False))
    length = None if streaming else _length(response)
    headers = redact.response_headers(response.items())
    cookies = getattr(response, "cookies", None)
    if cookies:  # sent by the server as Set-Cookie headers, not among response.items()
        headers["Set-Cookie"] = redact.header_value(
            "Set-Cookie", ", ".join(morsel.OutputString() for morsel in cookies.values()))
    info: dict[str, Any] = {
        "status": response.status_code,
        "headers": headers,
        "size": length if length is not None or streaming else len(response.content),
        "streaming": streaming,
    }
    info["body"], info["body_omitted"] = response_body(response, streaming, length)
    return info


# Text types whose body a trace keeps (with JSON: application/json, */*+json): what an API answers. HTML is
# the page itself (shown by the browser, and the heaviest body of a site), CSS and JavaScript are assets:
# not kept (their redaction, a scan of the whole text, would cost each request for nothing).
_TEXT_TYPES = frozenset({"text/plain", "text/csv", "text/xml", "application/xml", "text/markdown",
                         "application/x-www-form-urlencoded"})


def response_body(response, streaming: bool, length: int | None) -> tuple[str | None, str | None]:
    """``(body, omitted_reason)`` of a JSON or text response, redacted like a request body.

    Cheap before it is known to be kept: a streaming response (``FileResponse`` included) is never read,
    the content type and size are read from the headers (or the content's parts, not joined), and the
    content is copied only when it is JSON or text and within ``RESPONSE_BODY_BYTES``."""
    if streaming:
        return None, "streaming"
    limit = conf.get("RESPONSE_BODY_BYTES")
    if limit <= 0:
        return None, None  # turned off
    content_type = response.get("Content-Type", "") or ""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if not (ctype == "application/json" or ctype.endswith("+json") or ctype in _TEXT_TYPES):
        if length == 0:
            return None, None
        return None, "HTML" if ctype in ("text/html", "application/xhtml+xml") else f"content type {ctype or 'none'}"
    encoding = (response.get("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity":
        return None, f"encoded ({encoding})"
    if length is not None and length > limit:
        return None, f"too large ({length} bytes > RESPONSE_BODY_BYTES {limit})"
    try:
        raw = response.content
    except Exception:  # a response class of the site's own whose content cannot be read (yet): left alone
        return None, "content not readable"
    return redact.body(raw, content_type, setting="RESPONSE_BODY_BYTES")


def _length(response) -> int | None:
    """The body's size without joining (copying) it: CommonMiddleware has set Content-Length on most
    responses; else the sum of the parts an ``HttpResponse`` keeps (None for an unknown class)."""
    length = response.get("Content-Length")
    if length is not None:
        try:
            return int(length)
        except ValueError:
            pass
    parts = getattr(response, "_container", None)
    if isinstance(parts, list) and all(type(p) is bytes for p in parts):
        return sum(map(len, parts))
    return None
