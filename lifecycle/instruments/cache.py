"""Cache: a span per call of the cache API (operation, key, hit or miss, alias).

Django offers no hook for cache calls, so each cache backend instance gets wrapped methods, as
django-debug-toolbar's cache panel does: instances made later through ``CacheHandler.create_connection``
are wrapped when created; instances that already exist are wrapped at install. A call made inside another
cache call (``get_or_set`` calling ``get`` and ``add``; ``aget`` running ``get`` in a thread) is part of
the outer span, not a span of its own.
"""

from __future__ import annotations

import functools
from typing import Any

from django.core.cache import CacheHandler, caches

from lifecycle import redact
from lifecycle.instruments.base import patch, unpatch_all
from lifecycle.recorder import _parent, _recording
from lifecycle.safety import report

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
        return result is not default and result is not None
    if base == "get_many":
        return bool(result)
    if base == "has_key":
        return bool(result)
    return None


def _wrap(method, op: str, alias: str, is_async: bool):
    if is_async:
        @functools.wraps(method)
        async def wrapper(*args, **kwargs):
            rec = _recording.get()
            if rec is None or _inside_cache_span():
                return await method(*args, **kwargs)
            span, token = _open(rec, op, alias, args, kwargs)
            try:
                result = await method(*args, **kwargs)
                _close_ok(span, op, result, args, kwargs)
                return result
            finally:
                _close(rec, span, token)
    else:
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            rec = _recording.get()
            if rec is None or _inside_cache_span():
                return method(*args, **kwargs)
            span, token = _open(rec, op, alias, args, kwargs)
            try:
                result = method(*args, **kwargs)
                _close_ok(span, op, result, args, kwargs)
                return result
            finally:
                _close(rec, span, token)
    setattr(wrapper, _wrapped_marker, True)
    return wrapper


def _inside_cache_span() -> bool:
    parent = _parent.get()
    return parent is not None and parent.kind == "cache"


def _open(rec, op, alias, args, kwargs):
    try:
        key = _key_of(op, args, kwargs)
        return rec.push("cache", f"{op} {key}".strip(), {"op": op, "key": key, "hit": None, "alias": alias})
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
        span.attrs["hit"] = _hit(op, result, args, kwargs)
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
        if hasattr(caches._connections, alias):
            wrap_cache(caches[alias], alias)


def uninstall() -> None:
    unpatch_all(_originals)
    for cache in caches.all(initialized_only=True):
        unwrap_cache(cache)
