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

from lifecycle import conf
from lifecycle.frames import stop_at, traceback_user_frames
from lifecycle.instruments.base import patch, unpatch_all
from lifecycle.recorder import _recording
from lifecycle.safety import report

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


def _timed_layer(inner, name: str):
    """``inner`` (a layer already wrapped by Django) timed as a ``middleware`` span."""
    attrs_template = {"class": name}
    if iscoroutinefunction(inner):
        async def layer(request):
            rec = _recording.get()
            if rec is None:
                return await inner(request)
            span, token = rec.push("middleware", name, dict(attrs_template))
            try:
                return await inner(request)
            finally:
                rec.pop(span, token)

        return markcoroutinefunction(layer)

    def sync_layer(request):
        rec = _recording.get()
        if rec is None:
            return inner(request)
        span, token = rec.push("middleware", name, dict(attrs_template))
        try:
            return inner(request)
        finally:
            rec.pop(span, token)

    return sync_layer


def record_exception(rec, exc: BaseException, *, handled: bool = False) -> None:
    """Add an ``exception`` span for ``exc`` unless this recording has it already."""
    try:
        if getattr(exc, "_lifecycle_recorded", None) == rec.trace.id:
            return
        try:
            exc._lifecycle_recorded = rec.trace.id  # type: ignore[attr-defined]
        except Exception:
            pass
        depth = conf.get("STACK_DEPTH") or 5
        rec.event("exception", type(exc).__name__, {
            "type": f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins."),
            "message": str(exc)[:2000],
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
        record_exception(rec, exc)


def install() -> None:
    if _originals:
        return
    original_convert = handlers_base.convert_exception_to_response
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
        span, token = rec.push("resolve", request.path_info, {})
        try:
            match = original_resolve(self, request)
        except Resolver404 as exc:
            if span is not None:
                span.attrs["error"] = "Resolver404"
                tried = (exc.args[0] or {}).get("tried") if exc.args and isinstance(exc.args[0], dict) else None
                span.attrs["tried"] = len(tried) if tried else 0
            rec.pop(span, token)
            raise
        except BaseException:
            rec.pop(span, token)
            raise
        try:
            if span is not None:
                route = match.route or ""
                span.name = route or request.path_info
                span.attrs.update({
                    "route": route,
                    "url_name": match.url_name,
                    "namespace": match.namespace,
                    "view": match._func_path,
                    "args": [str(a)[:100] for a in match.args],
                    "kwargs": {k: str(v)[:100] for k, v in match.kwargs.items()},
                })
                rec.trace.resolver = {
                    "url_name": match.url_name,
                    "namespace": match.namespace,
                    "route": route,
                    "view": match._func_path,
                    "args": span.attrs["args"],
                    "kwargs": span.attrs["kwargs"],
                }
        except Exception as exc:
            report("resolve instrument", exc)
        rec.pop(span, token)
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


def _timed_view(wrapped, view):
    name = _view_path(view)
    if iscoroutinefunction(wrapped):
        async def async_view(request, *args, **kwargs):
            rec = _recording.get()
            if rec is None:
                return await wrapped(request, *args, **kwargs)
            span, token = rec.push("view", name, {"view": name, "is_async": True})
            try:
                return await wrapped(request, *args, **kwargs)
            except BaseException as exc:
                record_exception(rec, exc)
                raise
            finally:
                rec.pop(span, token)

        return markcoroutinefunction(async_view)

    def sync_view(request, *args, **kwargs):
        rec = _recording.get()
        if rec is None:
            return wrapped(request, *args, **kwargs)
        span, token = rec.push("view", name, {"view": name, "is_async": False})
        try:
            return wrapped(request, *args, **kwargs)
        except BaseException as exc:
            record_exception(rec, exc)
            raise
        finally:
            rec.pop(span, token)

    return sync_view


def uninstall() -> None:
    unpatch_all(_originals)
    _timed_views.clear()
    got_request_exception.disconnect(dispatch_uid="lifecycle.exceptions")
