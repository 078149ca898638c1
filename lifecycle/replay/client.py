"""Running a trace's request again through Django's test client.

What is sent: the method, path and query string, the body (when the trace kept it) with its content
type, the headers except those that belong to the transport or to the recording machine (``Host``,
``Cookie``, ``Content-Length``, hop-by-hop headers) and those that were redacted, ``https`` as
``secure=True``, and the user, logged in with ``client.force_login`` when the trace names one.

Redacted values cannot be restored: a query string or form field recorded as ``********`` is sent as
``********`` (a login then fails, or logs in with that password), a redacted header is not sent, and a body
the recorder did not keep (too large, multipart, binary) is not sent. Each such case adds a note that
the failure message shows.

Inside a block recording (``lifecycle.record``) each request made by the test client becomes a
``request`` span holding its method, path and response status: see :func:`install_request_spans`. So does
a request run in a fresh context while the block is open (asgiref's ``ApplicationCommunicator``, channels'
``HttpCommunicator``, a live server's thread): it joins the newest block open in the process.
"""

from __future__ import annotations

import re
import threading
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from lifecycle.conf import REDACTED
from lifecycle.recorder import Recording, _parent, _recording
from lifecycle.safety import report

# Headers never replayed: the test client sets its own, or they describe the recording's connection.
SKIP_HEADERS = frozenset(
    {
        "host",
        "cookie",
        "content-length",
        "content-type",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "upgrade",
        "te",
        "trailer",
        "proxy-connection",
    }
)


_CUT = re.compile(r"… \(\d+ chars\)")  # what lifecycle.redact.cap leaves of a long value


class ReplayError(AssertionError):
    """A replay could not be run as asked: missing file, unknown user, bad option. The message says why.

    An AssertionError, so that test runners report it as a failure of the test, with this message."""


class _Keep:
    def __repr__(self) -> str:
        return "<as recorded>"


AS_RECORDED: Any = _Keep()


@dataclass
class RequestSpec:
    """One request to send, built from a trace and the caller's overrides."""

    method: str = "GET"
    path: str = "/"
    query: str = ""
    body: bytes = b""
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    secure: bool = False
    user: Any = None  # None (as the client is), {"id", "username"} from a trace, a user object or a username
    logout: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path

    def describe(self) -> str:
        """``GET /path/?query``, redacted (it is printed in failure messages and generated tests)."""
        from lifecycle import redact

        return f"{self.method} {redact.url(self.url)}"


def spec_from_request(request: dict[str, Any], source: str) -> RequestSpec:
    """The request stored in a trace (``trace.request``), ready to send."""
    if not request.get("method") or not request.get("path"):
        raise ReplayError(
            f"{source}: field 'request': expected the method and path of a request, got none; a trace "
            "recorded with lifecycle.record() is replayed by running its block again, not by a request"
        )
    for key, types in (
        ("method", str),
        ("path", str),
        ("query", (str, type(None))),
        ("body", (str, type(None))),
        ("content_type", (str, type(None))),
        ("headers", (dict, type(None))),
        ("user", (dict, type(None))),
        ("scheme", (str, type(None))),
    ):
        if not isinstance(request.get(key), types):
            raise ReplayError(f"{source}: field 'request.{key}': unexpected value {request.get(key)!r}")
    spec = RequestSpec(method=str(request["method"]).upper(), path=str(request["path"]))
    if REDACTED in spec.path:
        spec.notes.append(f"the recorded path has redacted URL arguments, replayed as {REDACTED!r}: pass "
                          "url='/the/real/path/' to send the values the view needs")
    spec.query = str(request.get("query") or "")
    if REDACTED in spec.query:
        names = _redacted_fields(spec.query)
        spec.notes.append(f"the recorded query string has redacted values ({', '.join(names)}), replayed as "
                          f"{REDACTED!r}: pass url='{spec.path}?...' with the values the view needs")
    body = request.get("body")
    spec.content_type = str(request.get("content_type") or "")
    if isinstance(body, str) and body:
        spec.body = body.encode()
        if REDACTED in body:
            names = _redacted_fields(body, spec.content_type)
            example = ", ".join(f"{n!r}: ..." for n in names[:4]) or "..."
            spec.notes.append(
                f"the recorded body has redacted fields ({', '.join(names) or 'values'}), replayed as "
                f"{REDACTED!r}: pass data={{{example}}} (a dict is sent form-encoded; or bytes, with "
                "content_type=) with the values the view needs"
            )
    elif request.get("body_omitted"):
        form = request.get("form")
        fields = f" (fields: {', '.join(map(str, form))})" if isinstance(form, dict) and form else ""
        spec.notes.append(
            f"the recorded body was not kept ({request['body_omitted']}){fields}: the replay sends none; "
            "pass data= with the body the view needs"
        )
    skipped = []
    for name, value in (request.get("headers") or {}).items():
        if name.lower() in SKIP_HEADERS:
            continue
        if value == REDACTED:
            skipped.append(name)
            continue
        spec.headers[name] = str(value)
    if skipped:
        spec.notes.append(f"redacted headers not sent: {', '.join(sorted(skipped))}")
    if any(_CUT.search(text) for text in (spec.query, body or "", *spec.headers.values())):
        spec.notes.append("values longer than MAX_VALUE_LENGTH were cut when recorded, and are sent cut")
    spec.secure = request.get("scheme") == "https"
    spec.user = request.get("user") or None
    return spec


def _redacted_fields(text: str, content_type: str = "application/x-www-form-urlencoded") -> list[str]:
    """The names of the fields recorded as ``********`` in a query string, a form or a JSON body."""
    names: list[str] = []
    if content_type.split(";")[0].strip().lower().endswith("json"):
        import json

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                for key, item in value.items():
                    if item == REDACTED and str(key) not in names:
                        names.append(str(key))
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        try:
            walk(json.loads(text))
        except ValueError:
            pass
        return names
    from urllib.parse import parse_qsl

    for name, value in parse_qsl(text, keep_blank_values=True):
        if REDACTED in value and name not in names:
            names.append(name)
    return names


def apply_overrides(
    spec: RequestSpec,
    *,
    url: str | None = None,
    method: str | None = None,
    data: Any = None,
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
    user: Any = AS_RECORDED,
    secure: bool | None = None,
) -> RequestSpec:
    """The caller's arguments replace the recorded parts of the request."""
    if method:
        spec.method = method.upper()
    if url is not None:
        parts = urlsplit(url)
        spec.path, spec.query = parts.path or "/", parts.query
        spec.notes = [n for n in spec.notes if not n.startswith(("the recorded path", "the recorded query"))]
    if data is not None:
        spec.notes = [n for n in spec.notes if not n.startswith("the recorded body")]
        if isinstance(data, dict):
            encoded = urlencode(data, doseq=True)
            if spec.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
                spec.query, spec.body = encoded, b""
            else:
                spec.body = encoded.encode()
                spec.content_type = content_type or "application/x-www-form-urlencoded"
        else:
            spec.body = data.encode() if isinstance(data, str) else bytes(data)
    if content_type is not None:
        spec.content_type = content_type
    if headers:
        spec.headers.update(headers)
    if secure is not None:
        spec.secure = secure
    if user is not AS_RECORDED:
        spec.user = user
        spec.logout = user is None
    return spec


def log_in(client: Any, spec: RequestSpec, source: str) -> dict[str, Any] | None:
    """Log the spec's user into ``client``; returns the user as a trace stores it (or None)."""
    if spec.logout:
        client.logout()
        return None
    ref = spec.user
    if ref is None:
        return None
    from django.contrib.auth import get_user_model

    model = get_user_model()
    if isinstance(ref, model):
        user = ref
    else:
        pk: Any
        username, pk = (ref, None) if isinstance(ref, str) else (ref.get("username"), ref.get("id"))
        if username and REDACTED in str(username) and not isinstance(ref, str):
            username = None  # redacted when recorded: only the id is known
        try:
            if username:
                user = model._default_manager.get_by_natural_key(username)
            else:
                user = model._default_manager.get(pk=pk)
        except (model.DoesNotExist, ValueError, TypeError):
            who = f"{username!r}" + (f" (id {pk})" if pk is not None else "") if username else f"id {pk}"
            raise ReplayError(
                f"{source}: field 'request.user': the request was made by user {who}, who does not exist in "
                f"the test database. Create that user in the test (for example "
                f"django_user_model.objects.create_user(username={username or 'name'!r})), pass user=<a user "
                "or username> to replay as someone else, or user=None to replay anonymously"
            ) from None
    client.force_login(user)
    return {"id": user.pk, "username": user.get_username()}


def send(client: Any, spec: RequestSpec) -> Any:
    kwargs: dict[str, Any] = {"secure": spec.secure, "headers": spec.headers or None}
    if spec.body:
        kwargs["content_type"] = spec.content_type or "application/octet-stream"
    return client.generic(spec.method, spec.url, spec.body, **kwargs)


def request_record(response: Any, spec: RequestSpec, user: dict[str, Any] | None) -> dict[str, Any]:
    """``trace.request`` for a replayed request: what the middleware would have captured of it."""
    from lifecycle import capture, redact

    request = getattr(response, "wsgi_request", None) or getattr(response, "asgi_request", None)
    info = None
    if request is not None:
        try:
            info = capture.request_info(request)
        except Exception:  # a request the recorder cannot describe: describe what was sent instead
            pass
    if info is None:
        body, omitted = redact.body(spec.body, spec.content_type) if spec.body else (None, None)
        meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in spec.headers.items()}
        info = {
            "method": spec.method,
            "path": spec.path,
            "query": redact.query_string(spec.query),
            "headers": redact.headers(meta),
            "body": body,
            "body_omitted": omitted,
            "content_type": spec.content_type,
            "scheme": "https" if spec.secure else "http",
        }
    info["user"] = user or _user_of(request)
    return info


def _user_of(request: Any) -> dict[str, Any] | None:
    """The user the client was logged in as; read after the recording, so its queries are not in it."""
    user = getattr(request, "user", None) if request is not None else None
    try:
        if user is not None and user.is_authenticated:
            return {"id": user.pk, "username": user.get_username()}
    except Exception:
        pass
    return None


def consume_streaming(response: Any) -> None:
    """Run a streaming response's generator now (while the recording is active), keeping its chunks."""
    if getattr(response, "streaming", False) and not getattr(response, "is_async", False):
        chunks = list(response.streaming_content)
        response.streaming_content = chunks


# -- block recordings: one ``request`` span per request ----------------------------------------------

_block: ContextVar[Recording | None] = ContextVar("lifecycle_replay_block", default=None)
_installed = False
# The blocks open in this process, newest last. A request that arrives in a context of its own (asgiref's
# ApplicationCommunicator and channels' HttpCommunicator run the application in a fresh
# contextvars.Context, a live server runs it in its own thread) cannot see the block's ContextVar, and
# would become a separate trace: with no recording in its context, it joins the newest open block instead.
_open: list[Recording] = []
_open_lock = threading.Lock()


def activate_block(rec: Recording):
    install_request_spans()
    with _open_lock:
        _open.append(rec)
    return rec, _block.set(rec)


def deactivate_block(token) -> None:
    rec, context_token = token
    with _open_lock:
        for i in range(len(_open) - 1, -1, -1):
            if _open[i] is rec:
                del _open[i]
                break
    try:
        _block.reset(context_token)
    except ValueError:
        _block.set(None)


def _open_block() -> Recording | None:
    """The newest block open in this process, for a request in a fresh context (no recording in it)."""
    if not _open or _recording.get() is not None:
        return None
    with _open_lock:
        return _open[-1] if _open else None


def _join(rec: Recording) -> tuple:
    """Make ``rec`` this context's block and recording, its block span the parent (undone by _leave)."""
    return _block.set(rec), _recording.set(rec), _parent.set(rec.request_span)


def _leave(tokens: tuple) -> None:
    block_token, rec_token, parent_token = tokens
    try:
        _parent.reset(parent_token)
        _recording.reset(rec_token)
        _block.reset(block_token)
    except ValueError:  # left from another context than joined: that context is gone with its request
        _parent.set(None)
        _recording.set(None)
        _block.set(None)


def install_request_spans() -> None:
    """Wrap ``BaseHandler.get_response`` and ``get_response_async`` (idempotent).

    Django has no public hook that sees each response of a handler, and a block recording must know
    each request's status. Every handler (WSGI, ASGI, the test clients) goes through these two methods;
    the wrappers cost one ContextVar read and a list's truth test when no block recording is open.
    """
    global _installed
    if _installed:
        return
    from django.core.handlers.base import BaseHandler

    original = BaseHandler.get_response
    original_async = BaseHandler.get_response_async

    def get_response(self, request):
        rec = _block.get()
        if rec is None:
            joined = _open_block()
            if joined is None:
                return original(self, request)
            tokens = _join(joined)
            try:
                return _request_span(joined, request, original, self)
            finally:
                _leave(tokens)
        if _recording.get() is not rec:
            return original(self, request)
        return _request_span(rec, request, original, self)

    async def get_response_async(self, request):
        rec = _block.get()
        if rec is None:
            joined = _open_block()
            if joined is None:
                return await original_async(self, request)
            tokens = _join(joined)
            try:
                return await _request_span_async(joined, request, original_async, self)
            finally:
                _leave(tokens)
        if _recording.get() is not rec:
            return await original_async(self, request)
        return await _request_span_async(rec, request, original_async, self)

    BaseHandler.get_response = get_response  # type: ignore[method-assign]
    BaseHandler.get_response_async = get_response_async  # type: ignore[method-assign]
    _installed = True


def _request_span(rec: Recording, request, original, handler):
    span, token = _push(rec, request)
    try:
        response = original(handler, request)
        _status(span, response)
        return response
    finally:
        _pop(rec, span, token)


async def _request_span_async(rec: Recording, request, original_async, handler):
    span, token = _push(rec, request)
    try:
        response = await original_async(handler, request)
        _status(span, response)
        return response
    finally:
        _pop(rec, span, token)


def _push(rec: Recording, request):
    try:
        attrs = _attrs(request)
        return rec.push("request", f"{request.method} {attrs['path']}", attrs)
    except Exception as exc:
        report("recording a block's request", exc)
        return None, None


def _status(span, response) -> None:
    try:
        if span is not None:
            span.attrs["status"] = response.status_code
    except Exception as exc:
        report("recording a block's request", exc)


def _pop(rec: Recording, span, token) -> None:
    try:
        rec.pop(span, token)
    except Exception as exc:
        report("recording a block's request", exc)


def _attrs(request) -> dict[str, Any]:
    from lifecycle import redact

    return {"method": request.method, "path": redact.paths.request_path(request)[0], "status": None}
