"""http.client (``urllib.request``, ``xmlrpc.client`` and anything else on the standard library's client): a
span from ``putrequest`` to ``getresponse``, a leaf kept per connection in between."""

from __future__ import annotations

import functools
import http.client
import sys
import weakref
from typing import Any

from lifecycle.instruments.base import patch
from lifecycle.instruments.http_out import record
from lifecycle.instruments.http_out.record import KIND, WHAT, arg, body_length, length
from lifecycle.recorder import _recording
from lifecycle.safety import report

# Spans between putrequest and getresponse, per connection: (recording, span).
_pending: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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
        opened = record.open_attrs(rec, "urllib", method, _connection_url(conn, url), None, frame)
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
        record.failed(pending[1], exc)
        _end(pending)


def _sent(conn, args, kwargs) -> None:
    try:
        pending = _pending.get(conn)
        if pending is not None:
            size = body_length(arg(args, kwargs, 0, "message_body"))
            if size is not None:
                pending[1].attrs["request_size"] = size
    except Exception as exc:
        report(WHAT, exc)


def _answered(pending, response) -> None:
    try:
        record.done(pending[1], response.status, length(response.headers))
    except Exception as exc:
        report(WHAT, exc)
    _end(pending)


def _end(pending) -> None:
    try:
        pending[0].end(pending[1])
    except Exception as exc:
        report(WHAT, exc)


def install(registry: dict) -> None:
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
            record.failed(pending[1], exc)
            _end(pending)
            raise
        _answered(pending, response)
        return response

    patch(cls, "putrequest", putrequest, registry)
    patch(cls, "endheaders", endheaders, registry)
    patch(cls, "getresponse", getresponse, registry)
