"""Outbound HTTP (``http_out``): calls made with urllib / http.client, urllib3, requests and httpx.

One span per call, made by the outermost library the code called (requests over urllib3 over http.client
is one ``requests`` span): each library's span is a container, and a library seam that finds an
``http_out`` span as its parent records nothing. A library that is not installed is never imported; one
that is installed is imported and patched when the instruments are installed. The seams:

- **http.client** (``urllib.request`` and everything else built on the standard library's client, such as
  ``xmlrpc.client``): ``HTTPConnection.putrequest`` opens the span, ``endheaders`` sends the request
  (a refused connection fails there), ``getresponse`` ends it with the status. ``putrequest`` rather than
  ``request`` because code that sends by hand (xmlrpc) calls it too. The span ends when the response's
  headers are in: the body is read later by the caller, outside it. urllib follows a redirect with a new
  request, so each hop is a span of its own (the 302, then the 200).
- **urllib3** (used directly): ``HTTPConnectionPool.urlopen``, which ``PoolManager`` and ``urllib3.request``
  call for each hop.
- **requests**: ``Session.send``, which every request goes through whatever adapter is mounted (a custom
  adapter's users included); its URL still has the userinfo (redacted) that urllib3 never sees. A
  redirect it follows is part of the call (``redirects``: how many), as the caller made one call.
- **httpx**: ``Client.send`` and ``AsyncClient.send`` rather than ``HTTPTransport.handle_request``: every
  request goes through ``send`` whatever the transport (a custom or mounted transport, a retrying or
  caching one that never reaches ``HTTPTransport``), and ``send`` is public API where the transport's
  internals are not. Redirects as for requests.

Attributes: ``method``, ``url`` (userinfo password and secret query values redacted by
``lifecycle.redact.url``, the rules of the request's own URL), ``library``, ``status`` (None when the call
failed), ``request_size`` and ``response_size`` in bytes when known (the ``Content-Length`` header, else
the length of a body already read: never a body the caller streams), ``redirects``, ``error``
(``"ConnectTimeout: ..."``, as raised at the seam; the exception goes on to the caller unchanged) and
``cause`` (the first error of its chain, when it wraps one: ``"ConnectionRefusedError: ..."``),
``stack`` (user frames, ``STACK_DEPTH``) and ``template_stack`` as for SQL. Headers are never kept.
"""

from __future__ import annotations

import functools
import http.client
import sys
import weakref
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from lifecycle import redact
from lifecycle.frames import capture as user_frames
from lifecycle.frames import display
from lifecycle.instruments import sql
from lifecycle.instruments.base import patch, unpatch_all
from lifecycle.kinds import Kind
from lifecycle.recorder import _parent, _recording
from lifecycle.safety import report

KIND = "http_out"
# The contract of lifecycle.instruments.base: the kind recorded (streamed live with these attributes, all
# redacted when set; never headers) and how the instrument names itself.
kinds = (Kind(KIND, "HTTP out", "H", "#3f8f8f", ("method", "url", "status", "library"),
              "One outbound HTTP call (urllib, urllib3, requests, httpx): method, redacted URL, status, sizes."),)
label = "outbound HTTP"
WHAT = "http_out instrument"

_originals: dict = {}
# http.client spans between putrequest and getresponse, per connection: (recording, span).
_pending: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


# -- recording ---------------------------------------------------------------------------------------------


def describe(method: str, url: str) -> tuple[str, str]:
    """``(span name, shown URL)``: ``"GET example.com/path"`` and the URL with its secrets redacted."""
    shown = redact.cap(redact.url(url))
    rest = shown.partition("://")[2] or shown
    where = rest.partition("?")[0].partition("#")[0]
    host, slash, path = where.partition("/")
    host = host.rpartition("@")[2]
    return f"{method} {host}{slash}{path}"[:120], shown


def _open(rec, library: str, method: Any, url: Any, request_size: int | None, frame) -> Any:
    """The span of a call about to be made, or None (inside another library's call, or when we fail)."""
    try:
        parent = _parent.get()
        if parent is not None and parent.kind == KIND:
            return None  # the library called is built on another one: the outer call has the span
        method = method.decode("latin-1") if isinstance(method, bytes) else str(method)
        name, shown = describe(method, url if isinstance(url, str) else str(url))
        attrs: dict[str, Any] = {"method": method, "url": shown, "library": library, "status": None}
        if request_size is not None:
            attrs["request_size"] = request_size
        if sql._depth:
            stack, lines = user_frames(sql._depth, frame, rec.anchors,
                                       parent is not None and parent.kind == "template")
            attrs["stack"] = display(stack)
            if lines is not None:
                attrs["template_stack"] = lines
        return attrs, name
    except Exception as exc:
        report(WHAT, exc)
        return None


def _done(span, status: Any, response_size: int | None, redirects: int = 0) -> None:
    attrs = span.attrs
    attrs["status"] = status if type(status) is int else None
    if response_size is not None:
        attrs["response_size"] = response_size
    if redirects:
        attrs["redirects"] = redirects


def _failed(span, exc: BaseException) -> None:
    try:
        span.attrs["error"] = _error_text(exc)
        root = _root(exc)
        if root is not exc:
            span.attrs["cause"] = _error_text(root)
    except Exception as err:
        report(WHAT, err)


def _error_text(exc: BaseException) -> str:
    return redact.cap(redact.text(f"{type(exc).__name__}: {exc}"))


def _root(exc: BaseException) -> BaseException:
    """The first error of a chain (``requests.ConnectionError`` <- urllib3's ``NewConnectionError`` <-
    ``ConnectionRefusedError``): what went wrong on the wire, whatever each library wrapped it in. The
    context is followed even where a library hid it (httpcore raises ``ConnectError`` ``from None``)."""
    for _ in range(10):
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return exc


def _length(headers: Any) -> int | None:
    """The ``Content-Length`` of a headers mapping (None when absent or not a number)."""
    if headers is None:
        return None
    value = headers.get("Content-Length")
    if value is None:
        value = headers.get("content-length")
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _body_length(body: Any) -> int | None:
    if body is None:
        return 0
    if isinstance(body, str):
        return len(body.encode("utf-8"))
    if isinstance(body, (bytes, bytearray)):
        return len(body)
    if isinstance(body, memoryview):
        return body.nbytes
    return None  # a file or an iterable: sent as it is read


# -- containers: urllib3, requests, httpx ------------------------------------------------------------------


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
        opened = _open(rec, library, method, url, size, sys._getframe(2))
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
                _done(span, *result_of(response, kwargs))
        except Exception as exc:
            report(WHAT, exc)
        close(rec, span, token)

    def fail(rec, span, token, exc) -> None:
        if span is not None:
            _failed(span, exc)
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


def _arg(args: tuple, kwargs: dict, index: int, name: str, default: Any = None) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def _urllib3_call(pool, args, kwargs):
    method, url = _arg(args, kwargs, 0, "method"), _arg(args, kwargs, 1, "url")
    if not str(url).startswith(("http://", "https://")):  # a path on this pool's host (no proxy)
        port = "" if pool.port in (None, pool.ConnectionCls.default_port) else f":{pool.port}"
        host = f"[{pool.host}]" if ":" in (pool.host or "") else pool.host
        url = f"{pool.scheme}://{host}{port}{url}"
    size = _length(_arg(args, kwargs, 3, "headers"))
    return method, url, size if size is not None else _body_length(_arg(args, kwargs, 2, "body"))


def _urllib3_result(response, kwargs):
    size = _length(response.headers)
    if size is None:
        body = getattr(response, "_body", None)  # preloaded (preload_content): read by urllib3 already
        size = len(body) if isinstance(body, bytes) else None
    return response.status, size, 0


def _requests_call(session, args, kwargs):
    request = _arg(args, kwargs, 0, "request")
    size = _length(request.headers)
    return request.method, request.url, size if size is not None else _body_length(request.body)


def _requests_result(response, kwargs):
    size = _length(response.headers)
    if size is None and getattr(response, "_content_consumed", False):
        content = response.content  # read by requests already (stream=False): no I/O
        size = len(content) if isinstance(content, bytes) else None
    return response.status_code, size, len(response.history)


def _httpx_call(client, args, kwargs):
    request = _arg(args, kwargs, 0, "request")
    size = _length(request.headers)
    if size is None:
        try:
            size = len(request.content)  # bytes given up front; a streamed body raises RequestNotRead
        except Exception:
            size = None
    return request.method, str(request.url), size


def _httpx_result(response, kwargs):
    size = _length(response.headers)
    if size is None and not kwargs.get("stream"):
        try:
            size = len(response.content)  # read by send (stream=False); else ResponseNotRead, no I/O
        except Exception:
            size = None
    return response.status_code, size, len(response.history)


# -- http.client: a span from putrequest to getresponse ----------------------------------------------------


def _connection_url(conn, url: Any) -> str:
    url = url.decode("latin-1") if isinstance(url, bytes) else str(url)
    if url.startswith(("http://", "https://")):  # through a proxy: the whole URL
        return url
    scheme = "https" if isinstance(conn, http.client.HTTPSConnection) else "http"
    tunnel = getattr(conn, "_tunnel_host", None)  # CONNECT through a proxy: the real host
    host, port = (tunnel, getattr(conn, "_tunnel_port", None)) if tunnel else (conn.host, conn.port)
    shown_port = "" if port in (None, conn.default_port) else f":{port}"
    host = f"[{host}]" if ":" in host and "@" not in host else host  # an IPv6 address, not userinfo
    return f"{scheme}://{host}{shown_port}{url}"


def _begin(rec, conn, method, url, frame) -> None:
    try:
        previous = _pending.pop(conn, None)
        if previous is not None:  # a request abandoned before its response: ends here
            previous[0].end(previous[1])
        opened = _open(rec, "urllib", method, _connection_url(conn, url), None, frame)
        if opened is not None:
            attrs, name = opened
            span = rec.begin(KIND, name, attrs)
            if span is not None:
                _pending[conn] = (rec, span)
    except Exception as exc:
        report(WHAT, exc)


def _pending_failed(conn, exc: BaseException) -> None:
    try:
        pending = _pending.pop(conn, None)
    except Exception as err:
        report(WHAT, err)
        return
    if pending is not None:
        _failed(pending[1], exc)
        _end(pending)


def _sent(conn, args, kwargs) -> None:
    try:
        pending = _pending.get(conn)
        if pending is not None:
            size = _body_length(_arg(args, kwargs, 0, "message_body"))
            if size is not None:
                pending[1].attrs["request_size"] = size
    except Exception as exc:
        report(WHAT, exc)


def _answered(pending, response) -> None:
    try:
        _done(pending[1], response.status, _length(response.headers))
    except Exception as exc:
        report(WHAT, exc)
    _end(pending)


def _end(pending) -> None:
    try:
        pending[0].end(pending[1])
    except Exception as exc:
        report(WHAT, exc)


def _install_http_client() -> None:
    cls = http.client.HTTPConnection
    get_recording = _recording.get
    original_putrequest, original_endheaders, original_getresponse = (
        cls.putrequest, cls.endheaders, cls.getresponse)

    @functools.wraps(original_putrequest)
    def putrequest(self, method, url, *args, **kwargs):
        rec = get_recording()
        if rec is None:
            return original_putrequest(self, method, url, *args, **kwargs)
        _begin(rec, self, method, url, sys._getframe(1))
        try:
            return original_putrequest(self, method, url, *args, **kwargs)
        except BaseException as exc:
            _pending_failed(self, exc)
            raise

    @functools.wraps(original_endheaders)
    def endheaders(self, *args, **kwargs):
        if get_recording() is None or self not in _pending:
            return original_endheaders(self, *args, **kwargs)
        _sent(self, args, kwargs)
        try:
            return original_endheaders(self, *args, **kwargs)
        except BaseException as exc:  # refused, unreachable, a connect timeout
            _pending_failed(self, exc)
            raise

    @functools.wraps(original_getresponse)
    def getresponse(self):
        if get_recording() is None:
            return original_getresponse(self)
        pending = _pending.pop(self, None)
        if pending is None:
            return original_getresponse(self)
        try:
            response = original_getresponse(self)
        except BaseException as exc:  # a read timeout, a closed connection
            _failed(pending[1], exc)
            _end(pending)
            raise
        _answered(pending, response)
        return response

    patch(cls, "putrequest", putrequest, _originals)
    patch(cls, "endheaders", endheaders, _originals)
    patch(cls, "getresponse", getresponse, _originals)


# -- install -----------------------------------------------------------------------------------------------


def _installed(name: str) -> bool:
    """Whether a library can be imported, without importing it."""
    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _install_urllib3() -> None:
    pool = import_module("urllib3.connectionpool").HTTPConnectionPool
    patch(pool, "urlopen", _container("urllib3", _urllib3_call, _urllib3_result)(pool.urlopen), _originals)


def _install_requests() -> None:
    session = import_module("requests").Session
    patch(session, "send", _container("requests", _requests_call, _requests_result)(session.send), _originals)


def _install_httpx() -> None:
    httpx = import_module("httpx")
    patch(httpx.Client, "send", _container("httpx", _httpx_call, _httpx_result)(httpx.Client.send), _originals)
    patch(httpx.AsyncClient, "send",
          _container("httpx", _httpx_call, _httpx_result, is_async=True)(httpx.AsyncClient.send), _originals)


LIBRARIES = (("urllib3", _install_urllib3), ("requests", _install_requests), ("httpx", _install_httpx))


def install() -> None:
    if _originals:
        return
    _install_http_client()
    for name, install_library in LIBRARIES:
        if _installed(name):
            try:
                install_library()
            except Exception as exc:  # a version whose seam moved: its calls go unrecorded
                report(f"{WHAT} ({name})", exc)


def uninstall() -> None:
    unpatch_all(_originals)
    _pending.clear()
