"""Cache: a span per call of the cache API (operation, key, hit or miss, alias).

Django offers no hook for cache calls, so each cache backend instance gets wrapped methods, as
django-debug-toolbar's cache panel does: instances made later through ``CacheHandler.create_connection``
are wrapped when created; instances that already exist are wrapped at install. A call made inside another
cache call (``get_or_set`` calling ``get`` and ``add``; ``aget`` running ``get`` in a thread) is part of
the outer span, not a span of its own; the first ``get`` inside a ``get_or_set`` tells its hit or miss.

``hit`` of a ``get``: the value read is not the ``default`` passed (so a stored ``None`` read with a sentinel
default is a hit); with no default (``None``) a ``None`` read counts as a miss, as it cannot be told apart.

The wrappers keep the shape of what they replace: a bound method becomes a bound method of the same
instance (``types.MethodType``) with the original's name, signature and attributes (``functools.wraps``),
since Django 6.1's ``BaseCache`` async methods read ``self.get_many.__func__`` (and ``set_many``,
``has_key``, ``get_or_set``, ``incr``...): a plain function there raised AttributeError on every
``aget_many``. As our wrapper is not ``BaseCache.get_many``, those async methods then run the sync method
once in a thread (Django's path for backends that override it), with the same result.

A call made while a template renders names its template lines (``template_stack``, as for SQL).
"""

from __future__ import annotations

import functools
import sys
import types
from collections.abc import Callable
from typing import Any

from django.core.cache import CacheHandler, caches

from lifecycle import redact
from lifecycle.frames import capture
from lifecycle.instruments import sql
from lifecycle.instruments.base import patch, unpatch_all
from lifecycle.kinds import BUILTIN as _BUILTIN
from lifecycle.recorder import _parent, _recording
from lifecycle.safety import report

# The instrument contract (lifecycle.instruments.base): what it records, how it names itself.
kinds = tuple(k for k in _BUILTIN if k.name in ("cache",))
label = "cache"

OPERATIONS = ("add", "get", "set", "get_or_set", "touch", "delete", "clear", "get_many", "set_many",
              "delete_many", "has_key", "incr", "decr", "incr_version", "decr_version")
ASYNC_OPERATIONS = tuple("a" + op for op in OPERATIONS)
_MISS = object()
_originals: dict = {}
_wrapped_marker = "_lifecycle_wrapped"


def _key_of(op: str, args: tuple, kwargs: dict) -> str:
    if op in ("clear", "aclear"):
        return ""
    key = args[0] if args else kwargs.get("key", kwargs.get("keys", kwargs.get("data", "")))
    if isinstance(key, dict):
        key = list(key)
    if isinstance(key, (list, tuple)):
        shown = ", ".join(redact.cache_key(k) for k in list(key)[:5])
        return f"[{shown}{', …' if len(key) > 5 else ''}]"
    return redact.cache_key(key)


def _hit(op: str, result: Any, args: tuple, kwargs: dict) -> bool | None:
    base = op[1:] if op.startswith("a") and op[1:] in OPERATIONS else op
    if base == "get":
        default = args[1] if len(args) > 1 else kwargs.get("default")
        return result is not None if default is None else result is not default
    if base == "get_many":
        return bool(result)
    if base == "has_key":
        return bool(result)
    return None


_GET_OR_SET = ("get_or_set", "aget_or_set")


def _wrap(method, op: str, alias: str, is_async: bool):
    """A wrapper of ``method`` (a bound method of the cache, or whatever else stands there) of its shape."""
    func = getattr(method, "__func__", None)
    owner = getattr(method, "__self__", None)
    if not isinstance(method, types.MethodType) or func is None:
        func, owner = method, None
    call = func
    wrapper: Callable[..., Any]

    if owner is not None:
        if is_async:
            async def wrapper(self, *args, **kwargs):
                rec = _recording.get()
                if rec is None:
                    return await call(self, *args, **kwargs)
                parent = _parent.get()
                if parent is not None and parent.kind == "cache":
                    return await _inner_async(parent, op, call, (self, *args), kwargs)
                span, token = _open(rec, op, alias, args, kwargs)
                try:
                    result = await call(self, *args, **kwargs)
                    _close_ok(span, op, result, args, kwargs)
                    return result
                finally:
                    _close(rec, span, token)
        else:
            def wrapper(self, *args, **kwargs):
                rec = _recording.get()
                if rec is None:
                    return call(self, *args, **kwargs)
                parent = _parent.get()
                if parent is not None and parent.kind == "cache":
                    return _inner(parent, op, call, (self, *args), kwargs)
                span, token = _open(rec, op, alias, args, kwargs)
                try:
                    result = call(self, *args, **kwargs)
                    _close_ok(span, op, result, args, kwargs)
                    return result
                finally:
                    _close(rec, span, token)
    elif is_async:
        async def wrapper(*args, **kwargs):
            rec = _recording.get()
            if rec is None:
                return await call(*args, **kwargs)
            parent = _parent.get()
            if parent is not None and parent.kind == "cache":
                return await _inner_async(parent, op, call, args, kwargs, bound=True)
            span, token = _open(rec, op, alias, args, kwargs)
            try:
                result = await call(*args, **kwargs)
                _close_ok(span, op, result, args, kwargs)
                return result
            finally:
                _close(rec, span, token)
    else:
        def wrapper(*args, **kwargs):
            rec = _recording.get()
            if rec is None:
                return call(*args, **kwargs)
            parent = _parent.get()
            if parent is not None and parent.kind == "cache":
                return _inner(parent, op, call, args, kwargs, bound=True)
            span, token = _open(rec, op, alias, args, kwargs)
            try:
                result = call(*args, **kwargs)
                _close_ok(span, op, result, args, kwargs)
                return result
            finally:
                _close(rec, span, token)
    functools.update_wrapper(wrapper, func)
    setattr(wrapper, _wrapped_marker, True)
    return types.MethodType(wrapper, owner) if owner is not None else wrapper


def _inner(parent, op, call, args, kwargs, bound=False):
    """A call inside another cache call: no span; a ``get_or_set``'s first ``get`` tells its hit."""
    result = call(*args, **kwargs)
    _inner_hit(parent, op, result, args if bound else args[1:], kwargs)
    return result


async def _inner_async(parent, op, call, args, kwargs, bound=False):
    result = await call(*args, **kwargs)
    _inner_hit(parent, op, result, args if bound else args[1:], kwargs)
    return result


def _inner_hit(parent, op, result, args, kwargs) -> None:
    try:
        attrs = parent.attrs
        if op in ("get", "aget") and attrs.get("hit") is None and attrs.get("op") in _GET_OR_SET:
            attrs["hit"] = _hit(op, result, args, kwargs)
    except Exception as exc:
        report("cache instrument", exc)


def _open(rec, op, alias, args, kwargs):
    try:
        key = _key_of(op, args, kwargs)
        attrs = {"op": op, "key": key, "hit": None, "alias": alias}
        parent = _parent.get()
        if parent is not None and parent.kind == "template" and sql._depth:
            # From the caller of the wrapper outwards: the template lines of a call made while one renders.
            lines = capture(sql._depth, sys._getframe(2), rec.anchors, True)[1]
            if lines is not None:
                attrs["template_stack"] = lines
        return rec.push("cache", f"{op} {key}".strip(), attrs)
    except Exception as exc:
        report("cache instrument", exc)
        return None, None


def _close(rec, span, token) -> None:
    try:
        rec.pop(span, token)
    except Exception as exc:
        report("cache instrument", exc)


def _close_ok(span, op, result, args, kwargs) -> None:
    if span is None:
        return
    try:
        hit = _hit(op, result, args, kwargs)
        if hit is not None:  # a get_or_set's hit was set by its inner get
            span.attrs["hit"] = hit
    except Exception as exc:
        report("cache instrument", exc)


def wrap_cache(cache, alias: str) -> None:
    """Wrap the API methods of one cache backend instance (idempotent)."""
    for op in OPERATIONS + ASYNC_OPERATIONS:
        method = getattr(cache, op, None)
        if method is None or getattr(method, _wrapped_marker, False):
            continue
        is_async = op in ASYNC_OPERATIONS
        setattr(cache, op, _wrap(method, op, alias, is_async))


def unwrap_cache(cache) -> None:
    for op in OPERATIONS + ASYNC_OPERATIONS:
        if op in cache.__dict__ and getattr(cache.__dict__[op], _wrapped_marker, False):
            del cache.__dict__[op]


def install() -> None:
    if _originals:
        return
    original_create = CacheHandler.create_connection

    def create_connection(self, alias):
        cache = original_create(self, alias)
        try:
            wrap_cache(cache, alias)
        except Exception as exc:
            report("cache instrument", exc)
        return cache

    patch(CacheHandler, "create_connection", create_connection, _originals)
    for alias in caches:
        if hasattr(caches._connections, alias):  # type: ignore[attr-defined]  # initialized: not in the stubs
            wrap_cache(caches[alias], alias)


def uninstall() -> None:
    unpatch_all(_originals)
    for cache in caches.all(initialized_only=True):
        unwrap_cache(cache)
