"""urllib3, requests and httpx: a container span around each library's call (see the package docstring
for the seams). A call made inside it by a library underneath (urllib3 under requests, http.client under
urllib3) finds an ``http_out`` parent and records nothing."""

from __future__ import annotations

import functools
import sys
from importlib import import_module

from lifecycle.instruments.base import patch
from lifecycle.instruments.http_out import record
from lifecycle.instruments.http_out.record import KIND, WHAT, arg, body_length, length
from lifecycle.recorder import _recording
from lifecycle.safety import report


def _container(library: str, call_of, result_of, is_async: bool = False):
    """A wrapper factory for a library's call: ``call_of(self, args, kwargs)`` gives (method, url, request
    size) before the call, ``result_of(response, kwargs)`` gives (status, response size, redirects) after."""

    def start(rec, self, args, kwargs):
        try:
            method, url, size = call_of(self, args, kwargs)
        except Exception as exc:
            report(WHAT, exc)
            return None, None
        # From the caller of the wrapper outwards (this function, then the wrapper, are frames 0 and 1).
        opened = record.open_attrs(rec, library, method, url, size, sys._getframe(2))
        if opened is None:
            return None, None
        attrs, name = opened
        try:
            return rec.push(KIND, name, attrs)
        except Exception as exc:
            report(WHAT, exc)
            return None, None

    def finish(rec, span, token, response, kwargs) -> None:
        try:
            if span is not None:
                record.done(span, *result_of(response, kwargs))
        except Exception as exc:
            report(WHAT, exc)
        close(rec, span, token)

    def fail(rec, span, token, exc) -> None:
        if span is not None:
            record.failed(span, exc)
        close(rec, span, token)

    def close(rec, span, token) -> None:
        try:
            rec.pop(span, token)
        except Exception as exc:
            report(WHAT, exc)

    def wrap(original):
        get_recording = _recording.get
        if is_async:
            @functools.wraps(original)
            async def wrapper(self, *args, **kwargs):
                rec = get_recording()
                if rec is None:
                    return await original(self, *args, **kwargs)
                span, token = start(rec, self, args, kwargs)
                if span is None:
                    return await original(self, *args, **kwargs)
                try:
                    response = await original(self, *args, **kwargs)
                except BaseException as exc:  # a cancelled task too: the span's parent is reset
                    fail(rec, span, token, exc)
                    raise
                finish(rec, span, token, response, kwargs)
                return response
        else:
            @functools.wraps(original)
            def wrapper(self, *args, **kwargs):
                rec = get_recording()
                if rec is None:
                    return original(self, *args, **kwargs)
                span, token = start(rec, self, args, kwargs)
                if span is None:
                    return original(self, *args, **kwargs)
                try:
                    response = original(self, *args, **kwargs)
                except BaseException as exc:
                    fail(rec, span, token, exc)
                    raise
                finish(rec, span, token, response, kwargs)
                return response
        return wrapper

    return wrap


def _urllib3_call(pool, args, kwargs):
    method, url = arg(args, kwargs, 0, "method"), arg(args, kwargs, 1, "url")
    if not str(url).startswith(("http://", "https://")):  # a path on this pool's host (no proxy)
        port = "" if pool.port in (None, pool.ConnectionCls.default_port) else f":{pool.port}"
        host = f"[{pool.host}]" if ":" in (pool.host or "") else pool.host
        url = f"{pool.scheme}://{host}{port}{url}"
    size = length(arg(args, kwargs, 3, "headers"))
    return method, url, size if size is not None else body_length(arg(args, kwargs, 2, "body"))


def _urllib3_result(response, kwargs):
    size = length(response.headers)
    if size is None:
        body = getattr(response, "_body", None)  # preloaded (preload_content): read by urllib3 already
        size = len(body) if isinstance(body, bytes) else None
    return response.status, size, 0


def _requests_call(session, args, kwargs):
    request = arg(args, kwargs, 0, "request")
    size = length(request.headers)
    return request.method, request.url, size if size is not None else body_length(request.body)


def _requests_result(response, kwargs):
    size = length(response.headers)
    if size is None and getattr(response, "_content_consumed", False):
        content = response.content  # read by requests already (stream=False): no I/O
        size = len(content) if isinstance(content, bytes) else None
    return response.status_code, size, len(response.history)


def _httpx_call(client, args, kwargs):
    request = arg(args, kwargs, 0, "request")
    size = length(request.headers)
    if size is None:
        try:
            size = len(request.content)  # bytes given up front; a streamed body raises RequestNotRead
        except Exception:
            size = None
    return request.method, str(request.url), size


def _httpx_result(response, kwargs):
    size = length(response.headers)
    if size is None and not kwargs.get("stream"):
        try:
            size = len(response.content)  # read by send (stream=False); else ResponseNotRead, no I/O
        except Exception:
            size = None
    return response.status_code, size, len(response.history)


# -- install ---------------------------------------------------------------------------------------------


def install_urllib3(registry: dict) -> None:
    pool = import_module("urllib3.connectionpool").HTTPConnectionPool
    patch(pool, "urlopen", _container("urllib3", _urllib3_call, _urllib3_result)(pool.urlopen), registry)


def install_requests(registry: dict) -> None:
    session = import_module("requests").Session
    patch(session, "send", _container("requests", _requests_call, _requests_result)(session.send), registry)


def install_httpx(registry: dict) -> None:
    httpx = import_module("httpx")
    patch(httpx.Client, "send", _container("httpx", _httpx_call, _httpx_result)(httpx.Client.send), registry)
    patch(httpx.AsyncClient, "send",
          _container("httpx", _httpx_call, _httpx_result, is_async=True)(httpx.AsyncClient.send), registry)
