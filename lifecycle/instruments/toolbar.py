"""django-debug-toolbar as a good neighbour: its own work stays out of the trace, ours out of its panels.

Installed only where ``debug_toolbar`` is in INSTALLED_APPS (nothing is imported otherwise). Four seams:

- ``DebugToolbarMiddleware.__call__`` / ``__acall__`` open a scope for the request being recorded. The
  toolbar first asks ``SHOW_TOOLBAR_CALLBACK`` (the site's code: its queries, say loading
  ``request.user``, are the site's, and recorded). Once it shows, it builds a ``DebugToolbar``: from
  there recording is suspended (the instruments see no current trace) while the toolbar sets up its
  panels, runs their ``process_request``, then generates their stats, renders its HTML (templates, the
  panels' contents with ``RENDER_PANELS``) and stores them (SQL with its ``DatabaseStore``). It is
  resumed only around the rest of the chain, the ``get_response`` that ``DebugToolbar(request,
  get_response)`` hands its innermost panel. The toolbar's middleware keeps its span (a layer of the
  chain, holding the site's layers), with the toolbar's time as its self time.
  ``lifecycle.panels.LifecyclePanel`` reads the suspended recording (:func:`suspended_recording`).
- ``DebugToolbar.is_toolbar_request`` is also true for the dashboard's own URLs (``lifecycle.urls``):
  the toolbar leaves ``/__lifecycle__/`` alone, as it leaves its own ``/__debug__/`` views, so it is not
  injected into the dashboard and its history does not fill with the dashboard's API calls.
- ``debug_toolbar.utils._is_excluded_frame``, the test its stack traces (SQL, cache) apply to each frame
  with ``HIDE_IN_STACKTRACES``, also hides lifecycle's frames (our middleware, layer, view and template
  wrappers) whenever it hides the toolbar's own (``"debug_toolbar"`` is listed, as by default): the
  site's setting is read as it is, never changed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.urls import Resolver404, resolve

from lifecycle.instruments.base import patch, unpatch_all
from lifecycle.recorder import Recording, _parent, _recording
from lifecycle.safety import report

# The instrument contract (lifecycle.instruments.base): what it records, how it names itself.
kinds: tuple = ()
label = "django-debug-toolbar neighbour"

_originals: dict = {}


class _Scope:
    """One toolbar middleware call inside a recording: the recording, its parent span when the toolbar
    was entered, and the tokens of the suspension once the toolbar shows."""

    __slots__ = ("rec", "parent", "tokens")

    def __init__(self, rec: Recording, parent) -> None:
        self.rec = rec
        self.parent = parent
        self.tokens: tuple[Token, Token] | None = None


_scope: ContextVar[_Scope | None] = ContextVar("lifecycle_toolbar_scope", default=None)


def suspended_recording() -> Recording | None:
    """The recording the toolbar suspended while it does its own work in this context, if any."""
    scope = _scope.get()
    return scope.rec if scope is not None and scope.tokens is not None else None


def _set(rec, parent) -> tuple[Token, Token]:
    return _recording.set(rec), _parent.set(parent)


def _restore(tokens: tuple[Token, Token], rec, parent) -> None:
    rec_token, parent_token = tokens
    try:
        _parent.reset(parent_token)
        _recording.reset(rec_token)
    except ValueError:  # set in another context: setting is what resetting would have done
        _recording.set(rec)
        _parent.set(parent)


def _enter(rec: Recording) -> tuple[_Scope, Token] | None:
    """Open a toolbar scope for ``rec``; None (reported) when that fails: the toolbar then runs unscoped."""
    try:
        scope = _Scope(rec, _parent.get())
        return scope, _scope.set(scope)
    except Exception as exc:
        report("toolbar instrument", exc)
        return None


def _leave(entered: tuple[_Scope, Token] | None) -> None:
    """Close the scope ``_enter`` opened and resume its recording if the toolbar suspended it."""
    if entered is None:
        return
    scope, token = entered
    try:
        try:
            _scope.reset(token)
        except ValueError:
            _scope.set(None)
        if scope.tokens is not None:
            tokens, scope.tokens = scope.tokens, None
            _restore(tokens, scope.rec, scope.parent)
    except Exception as exc:
        report("toolbar instrument", exc)


def _suspend(scope: _Scope, get_response):
    """Suspend ``scope``'s recording; returns ``get_response`` resuming it while the rest of the chain runs."""
    resumed: Callable[[Any], Any]
    if iscoroutinefunction(get_response):
        async def resumed(request):
            tokens = _resume(scope)
            try:
                return await get_response(request)
            finally:
                _pause(tokens)

        resumed = markcoroutinefunction(resumed)
    else:
        def resumed(request):
            tokens = _resume(scope)
            try:
                return get_response(request)
            finally:
                _pause(tokens)

    scope.tokens = _set(None, None)
    return resumed


def _resume(scope: _Scope):
    try:
        return _set(scope.rec, scope.parent)
    except Exception as exc:
        report("toolbar instrument", exc)
        return None


def _pause(tokens) -> None:
    if tokens is None:
        return
    try:
        _restore(tokens, None, None)
    except Exception as exc:
        report("toolbar instrument", exc)


def _is_dashboard_request(request) -> bool:
    """Whether ``request`` is for one of lifecycle's own views (``lifecycle.urls``, under any prefix)."""
    try:
        match = request.resolver_match or resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    return bool(match.app_names) and match.app_names[-1] == "lifecycle"


def _is_ours(frame) -> bool:
    name = frame.f_globals.get("__name__")
    return isinstance(name, str) and (name == "lifecycle" or name.startswith("lifecycle."))


def install() -> None:
    if _originals or not _toolbar_installed():
        return
    from debug_toolbar import middleware, toolbar, utils

    Middleware = middleware.DebugToolbarMiddleware
    Toolbar = toolbar.DebugToolbar
    original_call = Middleware.__dict__["__call__"]
    original_acall = Middleware.__dict__.get("__acall__")  # async support: toolbar 5.0+
    original_init = Toolbar.__dict__["__init__"]
    original_is_toolbar_request = Toolbar.__dict__["is_toolbar_request"].__func__
    original_is_excluded_frame = utils._is_excluded_frame

    @functools.wraps(original_call)
    def __call__(self, request):
        rec = _recording.get()
        if rec is None or getattr(self, "async_mode", False):  # async: __acall__ does it
            return original_call(self, request)
        entered = _enter(rec)
        if entered is None:
            return original_call(self, request)
        try:
            return original_call(self, request)
        finally:
            _leave(entered)

    patch(Middleware, "__call__", __call__, _originals)

    if original_acall is not None:
        @functools.wraps(original_acall)
        async def __acall__(self, request):
            rec = _recording.get()
            if rec is None:
                return await original_acall(self, request)
            entered = _enter(rec)
            if entered is None:
                return await original_acall(self, request)
            try:
                return await original_acall(self, request)
            finally:
                _leave(entered)

        patch(Middleware, "__acall__", __acall__, _originals)

    @functools.wraps(original_init)
    def __init__(self, request, get_response, *args, **kwargs):
        scope = _scope.get()
        if scope is not None and scope.tokens is None and _recording.get() is scope.rec:
            try:
                get_response = _suspend(scope, get_response)
            except Exception as exc:
                report("toolbar instrument", exc)
        original_init(self, request, get_response, *args, **kwargs)

    patch(Toolbar, "__init__", __init__, _originals)

    @functools.wraps(original_is_toolbar_request)
    def is_toolbar_request(cls, request):
        if original_is_toolbar_request(cls, request):
            return True
        try:
            return _is_dashboard_request(request)
        except Exception as exc:
            report("toolbar instrument", exc)
            return False

    patch(Toolbar, "is_toolbar_request", classmethod(is_toolbar_request), _originals)

    @functools.wraps(original_is_excluded_frame)
    def _is_excluded_frame(frame, excluded_modules):
        if original_is_excluded_frame(frame, excluded_modules):
            return True
        return bool(excluded_modules) and "debug_toolbar" in excluded_modules and _is_ours(frame)

    patch(utils, "_is_excluded_frame", _is_excluded_frame, _originals)


def _toolbar_installed() -> bool:
    from django.apps import apps

    try:
        return apps.is_installed("debug_toolbar")
    except Exception:  # the app registry is not ready: the toolbar cannot run yet either
        return False


def uninstall() -> None:
    unpatch_all(_originals)
