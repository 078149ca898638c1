"""Where finished traces are kept (``LIFECYCLE["TRACE_STORE"]``): the backends behind ``lifecycle.store``.

- ``"memory"`` (:class:`~lifecycle.stores.memory.MemoryStore`): nothing beyond each process's memory.
- ``"sqlite"`` (:class:`~lifecycle.stores.sqlite.SQLiteStore`): a SQLite file of its own, shared by the
  processes of one machine; survives a runserver reload and a restart.
- ``"redis"`` (:class:`~lifecycle.stores.redis.RedisStore`): a Redis server, shared by every process that
  reaches it.

``None`` (the default) is ``"redis"`` where lifecycle publishes on a ``channels_redis`` layer (its Redis),
else ``"sqlite"``; under pytest (lifecycle's plugin) it is ``"memory"``. A backend of your own subclasses
:class:`~lifecycle.stores.base.TraceStore` and is named by its dotted path; ``TRACE_STORE_OPTIONS`` are
keyword arguments of the class.
"""

from __future__ import annotations

from typing import Any

from lifecycle.stores.base import Entry, StoreError, TraceStore

__all__ = ["ALIASES", "Entry", "StoreError", "TraceStore", "from_settings", "selected"]

ALIASES = {
    "memory": "lifecycle.stores.memory.MemoryStore",
    "sqlite": "lifecycle.stores.sqlite.SQLiteStore",
    "redis": "lifecycle.stores.redis.RedisStore",
}


def selected() -> str:
    """The dotted path of the backend ``LIFECYCLE["TRACE_STORE"]`` chooses (the default decided here)."""
    from importlib.util import find_spec

    from django.core.exceptions import ImproperlyConfigured

    from lifecycle import conf

    name = conf.get("TRACE_STORE")
    if name is None and _under_pytest():
        name = "memory"
    if name is None:
        from lifecycle.stores.redis import channel_layer_url

        name = "redis" if find_spec("redis") is not None and channel_layer_url() else "sqlite"
    if not isinstance(name, str) or not name:
        raise ImproperlyConfigured(
            f"LIFECYCLE['TRACE_STORE'] must be None, one of {', '.join(map(repr, ALIASES))} or the dotted path "
            f"of a lifecycle.stores.TraceStore subclass, got {name!r}.")
    return ALIASES.get(name, name)


def from_settings() -> TraceStore:
    """The backend ``LIFECYCLE`` configures (``TRACE_STORE``, ``TRACE_STORE_OPTIONS``, ``RECENT_TRACES``,
    ``TRACE_MAX_AGE``); ImproperlyConfigured saying what was expected when it cannot be made."""
    from django.core.exceptions import ImproperlyConfigured
    from django.utils.module_loading import import_string

    from lifecycle import conf

    path = selected()
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"LIFECYCLE['TRACE_STORE'] = {path!r} cannot be imported ({exc}). Expected one of "
            f"{', '.join(map(repr, ALIASES))} or the dotted path of a lifecycle.stores.TraceStore subclass.") from None
    if not (isinstance(cls, type) and issubclass(cls, TraceStore)):
        raise ImproperlyConfigured(
            f"LIFECYCLE['TRACE_STORE'] = {path!r} is {cls!r}, expected a subclass of lifecycle.stores.TraceStore.")
    options = conf.get("TRACE_STORE_OPTIONS")
    if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
        raise ImproperlyConfigured(
            f"LIFECYCLE['TRACE_STORE_OPTIONS'] must be a dict of keyword arguments for {cls.__name__}, "
            f"got {options!r}.")
    max_age = conf.get("TRACE_MAX_AGE")
    kwargs: dict[str, Any] = {"max_traces": conf.get("RECENT_TRACES"), "max_age": max_age, **options}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ImproperlyConfigured(
            f"LIFECYCLE['TRACE_STORE_OPTIONS'] = {options!r} does not suit {cls.__name__} ({exc}).") from None
    except (StoreError, ValueError) as exc:
        raise ImproperlyConfigured(f"LIFECYCLE['TRACE_STORE'] = {path!r}: {exc}") from None


def _under_pytest() -> bool:
    import sys

    state = sys.modules.get("lifecycle.replay._pytest_state")
    return bool(getattr(state, "running", False))
