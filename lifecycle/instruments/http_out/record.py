"""What every seam of the outbound-HTTP instrument records: the span's name and attributes, its sizes,
its error and the error's cause. Every function here runs inside the instrument's boundary."""

from __future__ import annotations

from typing import Any

from lifecycle import redact
from lifecycle.frames import capture as user_frames
from lifecycle.frames import display
from lifecycle.instruments import sql
from lifecycle.recorder import _parent
from lifecycle.safety import report

KIND = "http_out"
WHAT = "http_out instrument"


def describe(method: str, url: str) -> tuple[str, str]:
    """``(span name, shown URL)``: ``"GET example.com/path"`` and the URL with its secrets redacted."""
    shown = redact.cap(redact.url(url))
    rest = shown.partition("://")[2] or shown
    where = rest.partition("?")[0].partition("#")[0]
    host, slash, path = where.partition("/")
    host = host.rpartition("@")[2]
    return f"{method} {host}{slash}{path}"[:120], shown


def open_attrs(rec, library: str, method: Any, url: Any, request_size: int | None, frame) -> Any:
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


def done(span, status: Any, response_size: int | None, redirects: int = 0) -> None:
    attrs = span.attrs
    attrs["status"] = status if type(status) is int else None
    if response_size is not None:
        attrs["response_size"] = response_size
    if redirects:
        attrs["redirects"] = redirects


def failed(span, exc: BaseException) -> None:
    try:
        span.attrs["error"] = redact.error(exc)
        root = _root(exc)
        if root is not exc:
            span.attrs["cause"] = redact.error(root)
    except Exception as err:
        report(WHAT, err)


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


def length(headers: Any) -> int | None:
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


def body_length(body: Any) -> int | None:
    if body is None:
        return 0
    if isinstance(body, str):
        return len(body.encode("utf-8"))
    if isinstance(body, (bytes, bytearray)):
        return len(body)
    if isinstance(body, memoryview):
        return body.nbytes
    return None  # a file or an iterable: sent as it is read


def arg(args: tuple, kwargs: dict, index: int, name: str, default: Any = None) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)
