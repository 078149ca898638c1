"""What a trace keeps of the HTTP request and response, redacted and size-capped."""

from __future__ import annotations

from typing import Any

from django.utils.functional import empty

from lifecycle import conf, redact


def request_info(request, path: str | None = None) -> dict[str, Any]:
    """``path``: ``request.path`` already redacted (``lifecycle.redact.paths.request_path``), if known."""
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
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        info["body"], info["body_omitted"] = _body(request, content_type)
    return info


def _body(request, content_type: str, extra: Any = None) -> tuple[str | None, str | None]:
    limit = conf.get("MAX_BODY")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length == 0:
        return None, None
    if length > limit:
        return None, f"too large ({length} bytes > MAX_BODY {limit})"
    if content_type.startswith("multipart/"):
        return None, "multipart"
    # Reading a small body now is safe: Django keeps it in request._body, and request.POST and
    # request.read() are served from that copy afterwards.
    return redact.body(request.body, content_type, extra)


def sensitive_post_parameters(trace_request: dict[str, Any], request) -> list[str]:
    """Redact again the body and form of a request whose view is marked ``@sensitive_post_parameters``;
    returns the marked values the site parsed (to be replaced wherever else they appear)."""
    marked = redact.marks.post_parameters(request)
    if marked is None:
        return []
    if trace_request.get("body") is not None:
        trace_request["body"], trace_request["body_omitted"] = _body(
            request, request.META.get("CONTENT_TYPE", "") or "", marked)
    if trace_request.get("form") is not None:
        trace_request["form"] = multipart_form(request, marked)
    return redact.marks.post_values(request, marked)


def multipart_form(request, extra: Any = None) -> dict[str, list[str]] | None:
    """The fields of a multipart form the site parsed (files by name only), secrets redacted."""
    post = request.__dict__.get("_post")
    if post is None:
        return None
    if extra is None:
        extra = redact.marks.post_parameters(request)
    form = {k: [redact.form_value(k, v, extra) for v in post.getlist(k)] for k in post}
    files = request.__dict__.get("_files")
    if files:
        form.update({k: [f"<file {f.name}>" for f in files.getlist(k)] for k in files})
    return form


def user_info(request) -> dict[str, Any] | None:
    """The logged-in user, only if the site already loaded it (we never run a query of our own)."""
    lazy = request.__dict__.get("user")
    if lazy is None:
        return None
    wrapped = getattr(lazy, "_wrapped", lazy)
    if wrapped is empty or not getattr(wrapped, "is_authenticated", False):
        return None
    try:
        return {"id": wrapped.pk, "username": wrapped.get_username()}
    except Exception:
        return None


def response_info(response) -> dict[str, Any]:
    streaming = bool(getattr(response, "streaming", False))
    size = None if streaming else _size(response)
    return {
        "status": response.status_code,
        "headers": redact.response_headers(response.items()),
        "size": size,
        "streaming": streaming,
    }


def _size(response) -> int:
    # CommonMiddleware has set Content-Length on most responses: ``response.content`` would join (copy)
    # the whole body to measure it.
    length = response.get("Content-Length")
    if length is not None:
        try:
            return int(length)
        except ValueError:
            pass
    return len(response.content)
