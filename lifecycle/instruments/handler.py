"""Django's request handler: a span per middleware layer, URL resolution, the view, and exceptions.

- Middleware: ``BaseHandler.load_middleware`` wraps every layer with ``convert_exception_to_response``,
  looked up as a global of ``django.core.handlers.base`` when the chain is built. Our version wraps the
  wrapped layer in a timer, so each layer's span contains the next layer's span, as the chain itself
  does: a layer's time before and after the inner handler is its span minus its child. Handlers built
  before install (none, when ``lifecycle`` is in INSTALLED_APPS) are not timed.
- Resolution: ``BaseHandler.resolve_request``; a ``Resolver404`` is recorded on the span and re-raised.
- View: ``BaseHandler.make_view_atomic`` returns the callable that the handler then invokes, on the
  sync and the async path; we return a timed twin of it with the same sync/async nature.
- Exceptions: those leaving the view are recorded by the view wrapper; the ``got_request_exception``
  signal reports the others (raised in middleware), each exception once.
"""

from __future__ import annotations

import sys
import types

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.handlers import base as handlers_base
from django.core.signals import got_request_exception
from django.urls import Resolver404

from lifecycle import capture, conf, redact
from lifecycle.conf import REDACTED
from lifecycle.frames import stop_at, traceback_user_frames
from lifecycle.instruments.base import patch, unpatch_all
from lifecycle.kinds import BUILTIN as _BUILTIN
from lifecycle.recorder import _recording
from lifecycle.safety import report

# The instrument contract (lifecycle.instruments.base): what it records, how it names itself.
kinds = tuple(k for k in _BUILTIN if k.name in ("middleware", "resolve", "view", "exception", "stream"))
label = "middleware chain, URL resolution, view"

_originals: dict = {}
# id(view) -> (view, its timed twin); the view is kept so that its id cannot be reused.
_timed_views: dict[int, tuple] = {}
_OUR_MIDDLEWARE = "lifecycle.middleware.LifecycleMiddleware"


def layer_name(handler) -> str:
    cls = handler if isinstance(handler, type) else type(handler)
    if getattr(handler, "__self__", None) is not None and getattr(handler, "__name__", "") in (
        "_get_response", "_get_response_async"
    ):
        return "django handler"
    if cls.__name__ in ("function", "method"):
        return f"{handler.__module__}.{getattr(handler, '__qualname__', handler.__name__)}"
    return f"{cls.__module__}.{cls.__qualname__}"


def _push(rec, kind: str, name: str, attrs: dict, what: str):
    """``rec.push(...)`` inside the boundary: ``(None, None)`` when the recorder fails."""
    try:
        return rec.push(kind, name, attrs)
    except Exception as exc:
        report(what, exc)
        return None, None


def _pop(rec, span, token, what: str) -> None:
    if span is None and token is None:
        return
    try:
        rec.pop(span, token)
    except Exception as exc:
        report(what, exc)


def _timed_layer(inner, name: str):
    """``inner`` (a layer already wrapped by Django) timed as a ``middleware`` span.

    The recorder is called only inside the boundary (``_push``/``_pop``); ``inner`` runs exactly once,
    outside it, so its response and its exceptions are the site's own."""
    attrs_template = {"class": name}
    if iscoroutinefunction(inner):
        async def layer(request):
            rec = _recording.get()
            if rec is None:
                return await inner(request)
            span, token = _push(rec, "middleware", name, dict(attrs_template), "middleware instrument")
            try:
                return await inner(request)
            finally:
                _pop(rec, span, token, "middleware instrument")

        return markcoroutinefunction(layer)

    def sync_layer(request):
        rec = _recording.get()
        if rec is None:
            return inner(request)
        span, token = _push(rec, "middleware", name, dict(attrs_template), "middleware instrument")
        try:
            return inner(request)
        finally:
            _pop(rec, span, token, "middleware instrument")

    return sync_layer


def record_exception(rec, exc: BaseException, *, handled: bool = False, request=None) -> None:
    """Add an ``exception`` span for ``exc`` unless this recording has it already.

    Its message is redacted as free text (URLs, ``key=value``), and the values the view marked secret
    (``@sensitive_variables`` locals of the raising frames, ``@sensitive_post_parameters`` fields, secret
    URL arguments) are replaced wherever it quotes them."""
    try:
        # Known by the recording, never marked on the exception: the site's objects stay as they were.
        if rec.exceptions.get(id(exc)) is exc:
            return
        rec.exceptions[id(exc)] = exc
        depth = conf.get("STACK_DEPTH") or 5
        message = redact.text(str(exc)[:2000])
        known = [*rec.secrets, *redact.marks.variable_values(exc.__traceback__)]
        if request is not None:
            known += redact.marks.post_values(request, redact.marks.post_parameters(request))
        if known:
            message = redact.scrub(message, known)
        rec.event("exception", type(exc).__name__, {
            "type": f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins."),
            "message": message,
            "stack": traceback_user_frames(exc.__traceback__, depth),
            "handled": handled,
        })
    except Exception as err:
        report("exception instrument", err)


def _on_request_exception(sender, request=None, **kwargs) -> None:
    rec = _recording.get()
    if rec is None:
        return
    exc = sys.exc_info()[1]
    if exc is not None:
        record_exception(rec, exc, request=request)


def install() -> None:
    if _originals:
        return
    # base's own name for it (imported from django.core.handlers.exception; the stubs do not re-export it):
    # the handler calls it through base's globals, so that is the name patched.
    original_convert = handlers_base.convert_exception_to_response  # type: ignore[attr-defined]
    original_resolve = handlers_base.BaseHandler.resolve_request
    original_make_atomic = handlers_base.BaseHandler.make_view_atomic

    def convert_exception_to_response(get_response):
        inner = original_convert(get_response)
        try:
            name = layer_name(get_response)
            if name == _OUR_MIDDLEWARE:
                return inner  # our own layer runs before the trace exists
            return _timed_layer(inner, name)
        except Exception as exc:
            report("middleware instrument", exc)
            return inner

    def resolve_request(self, request):
        rec = _recording.get()
        if rec is None:
            return original_resolve(self, request)
        span = token = None
        try:
            # Named by the path redacted before resolution: this name is published with span.start.
            span, token = rec.push("resolve", redact.paths.redact(request.path_info), {})
        except Exception as exc:
            report("resolve instrument", exc)
        try:
            match = original_resolve(self, request)
        except Resolver404 as exc:
            try:
                if span is not None:
                    span.attrs["error"] = "Resolver404"
                    tried = (exc.args[0] or {}).get("tried") if exc.args and isinstance(exc.args[0], dict) else None
                    span.attrs["tried"] = len(tried) if tried else 0
            except Exception as err:
                report("resolve instrument", err)
            _pop(rec, span, token, "resolve instrument")
            raise
        except BaseException:
            _pop(rec, span, token, "resolve instrument")
            raise
        try:
            _resolved(rec, span, request, match)
        except Exception as exc:
            report("resolve instrument", exc)
        _pop(rec, span, token, "resolve instrument")
        return match

    def make_view_atomic(self, view):
        wrapped = original_make_atomic(self, view)
        if _recording.get() is None:
            return wrapped
        try:
            if wrapped is not view:  # ATOMIC_REQUESTS: a new atomic wrapper per request
                return _timed_view(wrapped, view)
            # The same view object every time: build its timed twin (name, sync/async check) once.
            entry = _timed_views.get(id(view))
            if entry is None or entry[0] is not view:
                if len(_timed_views) >= 4096:
                    _timed_views.clear()
                entry = _timed_views[id(view)] = (view, _timed_view(wrapped, view))
            return entry[1]
        except Exception as exc:
            report("view instrument", exc)
            return wrapped

    # Stack walks (SQL frames) stop at our layer and view wrappers: below them lie only the handler and
    # the middleware chain (lifecycle.frames).
    for outer in (_timed_layer, _timed_view):
        for const in outer.__code__.co_consts:
            if isinstance(const, types.CodeType):
                stop_at(const)
    patch(handlers_base, "convert_exception_to_response", convert_exception_to_response, _originals)
    patch(handlers_base.BaseHandler, "resolve_request", resolve_request, _originals)
    patch(handlers_base.BaseHandler, "make_view_atomic", make_view_atomic, _originals)
    got_request_exception.connect(_on_request_exception, dispatch_uid="lifecycle.exceptions")


def _view_path(view) -> str:
    func = getattr(view, "view_class", None) or view
    module = getattr(func, "__module__", None) or type(func).__module__
    name = getattr(func, "__qualname__", None) or type(func).__qualname__
    return f"{module}.{name}"


def _resolved(rec, span, request, match) -> None:
    """Record where ``request`` resolved to; URL arguments with secret names are redacted there and in
    the path the trace already holds (the trace, the request spans)."""
    secret = redact.paths.secret_kwargs(match.kwargs)
    values = list(secret.values())
    if values:
        for value in values:
            if value not in rec.secrets:
                rec.secrets.append(value)
        replace = redact.paths.replace_values
        request_info = rec.trace.request
        if isinstance(request_info.get("path"), str):
            request_info["path"] = replace(request_info["path"], values)
        for other in rec.trace.spans:
            if other.kind == "request":
                other.name = replace(other.name, values)
                if isinstance(other.attrs.get("path"), str):
                    other.attrs["path"] = replace(other.attrs["path"], values)
    if span is None:
        return
    route = match.route or ""
    kwargs = {k: REDACTED if k in secret else str(v)[:100] for k, v in match.kwargs.items()}
    span.name = route or redact.paths.replace_values(span.name, values)
    span.attrs.update({
        "route": route,
        "url_name": match.url_name,
        "namespace": match.namespace,
        "view": match._func_path,
        "args": [str(a)[:100] for a in match.args],
        "kwargs": kwargs,
    })
    rec.trace.resolver = {
        "url_name": match.url_name,
        "namespace": match.namespace,
        "route": route,
        "view": match._func_path,
        "args": span.attrs["args"],
        "kwargs": kwargs,
    }


def _after_view(rec, span, token, request) -> None:
    """The view has run: the values of the fields it marks ``@sensitive_post_parameters`` (the mark is
    set when the view is called) join the trace's secrets, replaced wherever else they appear (the body
    itself is captured at the end, with the mark: ``capture.add_body``), then the span ends."""
    try:
        if getattr(request, "sensitive_post_parameters", None):
            for value in capture.marked_post_values(request):
                if value not in rec.secrets:
                    rec.secrets.append(value)
    except Exception as exc:
        report("view instrument", exc)
    _pop(rec, span, token, "view instrument")


def _timed_view(wrapped, view):
    name = _view_path(view)
    if iscoroutinefunction(wrapped):
        async def async_view(request, *args, **kwargs):
            rec = _recording.get()
            if rec is None:
                return await wrapped(request, *args, **kwargs)
            span, token = _push(rec, "view", name, {"view": name, "is_async": True}, "view instrument")
            try:
                return await wrapped(request, *args, **kwargs)
            except BaseException as exc:
                record_exception(rec, exc, request=request)
                raise
            finally:
                _after_view(rec, span, token, request)

        return markcoroutinefunction(async_view)

    def sync_view(request, *args, **kwargs):
        rec = _recording.get()
        if rec is None:
            return wrapped(request, *args, **kwargs)
        span, token = _push(rec, "view", name, {"view": name, "is_async": False}, "view instrument")
        try:
            return wrapped(request, *args, **kwargs)
        except BaseException as exc:
            record_exception(rec, exc, request=request)
            raise
        finally:
            _after_view(rec, span, token, request)

    return sync_view


def uninstall() -> None:
    unpatch_all(_originals)
    _timed_views.clear()
    got_request_exception.disconnect(dispatch_uid="lifecycle.exceptions")
