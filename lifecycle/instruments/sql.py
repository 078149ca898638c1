"""SQL: every query on every database alias, through Django's public ``execute_wrapper`` hook.

The wrapper is attached to each connection object when it is first created and on every reconnection
(``connection_created``), for every alias and every thread, including the connections that
``sync_to_async`` worker threads open for async views.

Each query keeps up to ``STACK_DEPTH`` user frames (``stack``) and, when it runs while a Django template
renders, the template lines that ran it (``template_stack``, innermost first: the node, then the
``{% include %}``, ``{% for %}``, ``{% extends %}``... around it), both found by one walk of the frames
(``lifecycle.frames.capture``). ``STACK_DEPTH`` 0 turns both off.
"""

from __future__ import annotations

import sys
from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created

from lifecycle import conf
from lifecycle.frames import capture as user_frames
from lifecycle.recorder import _parent, _recording
from lifecycle.safety import report

_installed = False
_depth = 5


def sql_wrapper(alias: str, vendor: str):
    """The function added to ``connection.execute_wrappers`` of one connection (alias and vendor known).

    A plain closure rather than an object with ``__call__``: it runs for every query of the process,
    recorded or not, and calling an instance costs about 0.15 µs more than calling a function. With no
    trace active it costs one ContextVar read on top of Django's own wrapper machinery
    (``bench/idle_query.py``).
    """
    get_recording = _recording.get

    def lifecycle_sql(execute, sql, params, many, context):
        rec = get_recording()
        if rec is None:
            return execute(sql, params, many, context)
        return _record(rec, alias, vendor, execute, sql, params, many, context)

    lifecycle_sql.alias = alias  # type: ignore[attr-defined]
    lifecycle_sql.vendor = vendor  # type: ignore[attr-defined]
    lifecycle_sql.lifecycle_sql = True  # type: ignore[attr-defined]
    return lifecycle_sql


def is_sql_wrapper(wrapper) -> bool:
    return getattr(wrapper, "lifecycle_sql", False) is True


def _record(rec, alias, vendor, execute, sql, params, many, context):
    try:
        text = sql if isinstance(sql, str) else str(sql)
        attrs: dict[str, Any] = {"sql": text, "raw_params": params, "many": many, "alias": alias,
                                 "vendor": vendor, "rows": None}
        if _depth:
            # From the caller of lifecycle_sql (Django's _execute_with_wrappers) outwards: one walk gives
            # the user frames and the template lines (frames.capture, imported as user_frames: the
            # fault-injection tests patch that name).
            parent = _parent.get()
            stack, lines = user_frames(_depth, sys._getframe(2), rec.anchors,
                                       parent is not None and parent.kind == "template")
            attrs["stack"] = stack
            if lines is not None:
                attrs["template_stack"] = lines
        span = rec.begin("sql", text[:120], attrs)
    except Exception as exc:  # never let the recorder break a query
        report("sql instrument", exc)
        return execute(sql, params, many, context)
    try:
        result = execute(sql, params, many, context)
    except Exception as exc:
        try:
            attrs["error"] = f"{type(exc).__name__}: {exc}"
            rec.end(span)
        except Exception as err:
            report("sql instrument", err)
        raise
    # The query ran: from here on a failure of ours loses the span's end, never the result.
    try:
        try:
            # The DB-API cursor itself: Django's CursorWrapper forwards attributes through __getattr__.
            cursor = context["cursor"]
            rowcount = getattr(cursor, "cursor", cursor).rowcount
            if isinstance(rowcount, int) and rowcount >= 0:
                attrs["rows"] = rowcount
        except Exception:
            pass  # a driver without a usable rowcount: no row count
        rec.end(span)
    except Exception as exc:
        report("sql instrument", exc)
    return result


def _attach(connection) -> None:
    for wrapper in connection.execute_wrappers:
        if is_sql_wrapper(wrapper):
            return
    connection.execute_wrappers.append(sql_wrapper(connection.alias, connection.vendor))


def _on_connection_created(sender, connection, **kwargs) -> None:
    try:
        _attach(connection)
    except Exception as exc:
        report("sql instrument attach", exc)


def configure() -> None:
    global _depth
    _depth = conf.get("STACK_DEPTH")


def install() -> None:
    global _installed
    configure()
    if _installed:
        return
    _installed = True
    connection_created.connect(_on_connection_created, dispatch_uid="lifecycle.sql")
    # Connections this thread created before we were installed (and the wrapper objects that will
    # reconnect later) get the wrapper now.
    for alias in connections:
        try:
            _attach(connections[alias])
        except Exception as exc:
            report("sql instrument attach", exc)


def uninstall() -> None:
    global _installed
    if not _installed:
        return
    _installed = False
    connection_created.disconnect(dispatch_uid="lifecycle.sql")
    for conn in connections.all(initialized_only=True):
        conn.execute_wrappers[:] = [w for w in conn.execute_wrappers if not is_sql_wrapper(w)]
