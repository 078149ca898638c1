"""Transactions: ``BEGIN``, ``COMMIT``, ``ROLLBACK`` and savepoints as ``sql`` spans, in order with the queries.

A commit or a rollback never passes through ``connection.execute_wrapper``: Django calls the DB-API
connection's ``commit()``/``rollback()`` directly, and logs them in ``connection.queries`` through
``django.db.backends.utils.debug_transaction(connection, "COMMIT")`` (also ``"BEGIN"`` when autocommit is
turned off, as ``atomic()`` does on PostgreSQL, where psycopg then sends the BEGIN with the next query).
No public hook sees them, so that context manager is replaced, looked up as a module global of
``django.db.backends.base.base`` (and of ``utils``, for backends imported later, such as Oracle's) at each
call. Ours wraps Django's own, so ``connection.queries`` and the ``django.db.backends`` log stay as they
were, and the statement's exception and return value are the backend's.

Savepoints (and SQLite's explicit ``BEGIN``) do go through ``cursor.execute``, so the SQL instrument
already records them: they are not recorded again here, only marked ``transaction: true`` once the
savepoint call returns (the span the SQL instrument just added with that text).

Each span: kind ``sql``, name and ``sql`` the statement Django's query log shows, ``alias``, ``vendor``,
``transaction: true``, ``rows: None``, no parameters, the user's frames as ``stack``, and ``error`` when
the statement raised. The summary never counts them as N+1 or duplicates (``lifecycle.summary``).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any

from lifecycle import conf, redact
from lifecycle.frames import user_frames
from lifecycle.instruments.base import patch, unpatch_all
from lifecycle.recorder import _recording
from lifecycle.safety import report

# The instrument contract (lifecycle.instruments.base): what it records, how it names itself.
kinds: tuple = ()
label = "transactions"

_original: Any = None
_patched: dict[tuple[Any, str], Any] = {}
_SAVEPOINT_METHODS = ("_savepoint", "_savepoint_commit", "_savepoint_rollback")
_MARKED = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN")


def debug_transaction(connection, sql):
    """Django's ``debug_transaction`` with a span around it while a trace is recorded."""
    rec = _recording.get()
    if rec is None:
        return _original(connection, sql)
    return _recorded(rec, connection, sql, sys._getframe(1))


@contextmanager
def _recorded(rec, connection, sql, caller):
    span = attrs = None
    try:
        attrs = {"sql": sql, "many": False, "alias": connection.alias, "vendor": connection.vendor, "rows": None,
                 "transaction": True}
        depth = conf.get("STACK_DEPTH")
        if depth:
            attrs["stack"] = user_frames(depth, caller, rec.anchors)
        attrs["params"] = []  # transaction control takes none
        span = rec.begin("sql", sql, attrs)
    except Exception as exc:
        report("transaction instrument", exc)
    try:
        with _original(connection, sql):
            yield
    except BaseException as exc:
        try:
            if attrs is not None and span is not None:
                attrs["error"] = redact.error(exc)
        except Exception as err:
            report("transaction instrument", err)
        raise
    finally:
        try:
            rec.end(span)
        except Exception as exc:
            report("transaction instrument", exc)


def _marking(original):
    """A savepoint method that marks the SQL instrument's span of its statement ``transaction: true``."""

    def method(self, *args, **kwargs):
        rec = _recording.get()
        if rec is None:
            return original(self, *args, **kwargs)
        try:
            first = len(rec.trace.spans)
        except Exception as exc:
            report("transaction instrument", exc)
            return original(self, *args, **kwargs)
        try:
            return original(self, *args, **kwargs)
        finally:
            _mark(rec, first)

    method.__name__ = original.__name__
    method.__qualname__ = original.__qualname__
    method.__doc__ = original.__doc__
    method.lifecycle_original = original  # type: ignore[attr-defined]
    return method


def _mark(rec, first: int) -> None:
    try:
        for span in rec.trace.spans[first:]:
            if span.kind == "sql" and str(span.attrs.get("sql", "")).lstrip().upper().startswith(_MARKED):
                span.attrs["transaction"] = True
                return
    except Exception as exc:
        report("transaction instrument", exc)


def install() -> None:
    global _original
    if _patched:
        return
    from django.db.backends import utils
    from django.db.backends.base import base

    _original = utils.debug_transaction
    patch(base, "debug_transaction", debug_transaction, _patched)
    patch(utils, "debug_transaction", debug_transaction, _patched)
    # Backends imported before us took their own reference to the original (Oracle's `from ... import`).
    for name, module in list(sys.modules.items()):
        if name.startswith("django.db.backends.") and getattr(module, "debug_transaction", None) is _original:
            patch(module, "debug_transaction", debug_transaction, _patched)
    for name in _SAVEPOINT_METHODS:
        patch(base.BaseDatabaseWrapper, name, _marking(getattr(base.BaseDatabaseWrapper, name)), _patched)
    try:
        from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
    except Exception:  # sqlite3 missing from this Python build: no SQLite BEGIN to mark
        return
    name = "_start_transaction_under_autocommit"
    patch(SQLiteWrapper, name, _marking(getattr(SQLiteWrapper, name)), _patched)


def uninstall() -> None:
    unpatch_all(_patched)
