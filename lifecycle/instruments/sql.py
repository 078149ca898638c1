"""SQL: every query on every database alias, every thread, sync and async.

Django runs every ``cursor.execute`` / ``executemany`` through ``CursorWrapper._execute_with_wrappers``,
which applies the connection's ``execute_wrappers``. We wrap that method of the class, around the
site's own wrappers, instead of adding one to each connection's list: ``connection.execute_wrappers``
stays exactly what the site (or a test of it) put there, and connections opened before us, or by
``sync_to_async`` worker threads, need nothing attached.

Each query keeps up to ``STACK_DEPTH`` user frames (``stack``) and, when it runs while a Django template
renders, the template lines that ran it (``template_stack``, innermost first: the node, then the
``{% include %}``, ``{% for %}``, ``{% extends %}``... around it), both found by one walk of the frames
(``lifecycle.frames.capture``). ``STACK_DEPTH`` 0 turns both off.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

from asgiref.sync import SyncToAsync
from django.db.backends.utils import CursorWrapper

from lifecycle import conf, nplusone, redact
from lifecycle.frames import awaited, awaited_at, awaiting
from lifecycle.frames import capture as user_frames
from lifecycle.instruments.base import patch, unpatch_all
from lifecycle.kinds import BUILTIN as _BUILTIN
from lifecycle.recorder import _parent, _recording
from lifecycle.safety import report

# The instrument contract (lifecycle.instruments.base): what it records, how it names itself.
kinds = tuple(k for k in _BUILTIN if k.name in ("sql",))
label = "SQL"

_originals: dict = {}
_depth = 5
_limit = 200


def _begin(rec, db, sql, params, many):
    """The span of a query about to run (None when the recorder fails: the query runs all the same)."""
    try:
        text = sql if isinstance(sql, str) else str(sql)
        attrs: dict[str, Any] = {"sql": text, "many": many, "alias": db.alias, "vendor": db.vendor, "rows": None}
        if _depth:
            # From the caller of our _execute_with_wrappers (CursorWrapper.execute) outwards: one walk gives
            # the user frames and the template lines (frames.capture, imported as user_frames: the
            # fault-injection tests patch that name).
            parent = _parent.get()
            stack, lines = user_frames(_depth, sys._getframe(2), rec.anchors,
                                       parent is not None and parent.kind == "template", 2)
            attrs["stack"] = stack
            if lines is not None:
                attrs["template_stack"] = lines
        return rec.begin("sql", text[:120], attrs)
    except Exception as exc:  # never let the recorder break a query
        report("sql instrument", exc)
        return None


def _shown_params(rec, attrs, params) -> None:
    """The query's parameters as the trace shows them, once it has run (never before: an iterator of
    parameters is the driver's to consume), after its end is taken (their cost is not the query's): display
    strings, all redacted when the statement touches a secret-looking column (``REDACT_SQL_PATTERNS``).
    Values the request later turns out to hold secret are replaced when the trace ends (``redact_trace``).

    Redacted parameters are also numbered (``params_id``): the same number for the same values within the
    trace, and nothing else about them, so that a loop looking up one user after another (every statement
    on ``auth_user`` names its ``password`` column) is still told from one user looked up again and again."""
    sql, many = attrs["sql"], attrs["many"]
    secret = redact.sensitive_sql(sql)
    if secret and params is not None and not many:
        params = redact.sql_param_values(params)  # read once: the number and the shown values come from it
        known = rec.params_ids
        attrs["params_id"] = known.setdefault(nplusone.hashable(params), len(known))
    attrs["params"] = redact.sql_params(sql, params, many, secret=secret, limit=_limit)


def _failed(rec, span, exc, params) -> None:
    try:
        if span is not None:
            span.attrs["error"] = redact.error(exc)
            rec.end(span)
            _shown_params(rec, span.attrs, params)
    except Exception as err:
        report("sql instrument", err)


def _ran(rec, span, cursor, params) -> None:
    """The query ran: from here on a failure of ours loses the span's end, never the result."""
    try:
        attrs = span.attrs
        try:
            # The DB-API cursor itself: Django's CursorWrapper forwards attributes through __getattr__.
            rowcount = getattr(cursor, "cursor", cursor).rowcount
            if isinstance(rowcount, int) and rowcount >= 0:
                attrs["rows"] = rowcount
        except Exception:
            pass  # a driver without a usable rowcount: no row count
        rec.end(span)
        _shown_params(rec, attrs, params)
    except Exception as exc:
        report("sql instrument", exc)


def configure() -> None:
    global _depth, _limit
    _depth = conf.get("STACK_DEPTH")
    _limit = conf.get("MAX_VALUE_LENGTH")


def install() -> None:
    configure()
    if _originals:
        return
    original = CursorWrapper._execute_with_wrappers  # type: ignore[attr-defined]  # private, not in the stubs
    get_recording = _recording.get

    @functools.wraps(original)
    def _execute_with_wrappers(self, sql, params, many, executor):
        # Outside a trace: one ContextVar read, then Django's own method.
        rec = get_recording()
        if rec is None:
            return original(self, sql, params, many, executor)
        span = _begin(rec, self.db, sql, params, many)
        if span is None:
            return original(self, sql, params, many, executor)
        # The site's own execute_wrappers run inside our span, as they would without us; Django's call runs
        # once, outside our boundary, so its result and its exceptions are its own.
        try:
            result = original(self, sql, params, many, executor)
        except Exception as exc:
            _failed(rec, span, exc, params)
            raise
        _ran(rec, span, self, params)
        return result

    patch(CursorWrapper, "_execute_with_wrappers", _execute_with_wrappers, _originals)

    # The async ORM (``aget``, ``async for``...) and every other ``sync_to_async`` call run their queries in a
    # worker thread, whose stack holds no user frame: the awaiting coroutine's user frames are read here, in
    # the event loop's thread, and handed to the walks made in the worker (``frames.awaited``, a ContextVar:
    # sync_to_async copies the context into the thread).
    original_call: Any = SyncToAsync.__call__

    @functools.wraps(original_call)
    async def __call__(self, *args, **kwargs):
        __traceback_hide__ = True  # Django's debug page hides this frame, as it hides asgiref's own
        rec = get_recording()
        if rec is None or not _depth:
            return await original_call(self, *args, **kwargs)
        token = _awaiting(sys._getframe(1))
        try:
            return await original_call(self, *args, **kwargs)
        finally:
            if token is not None:
                try:
                    awaited.reset(token)
                except ValueError:
                    pass  # reset from another context than it was set in; that context is gone anyway

    patch(SyncToAsync, "__call__", __call__, _originals)
    awaited_at(SyncToAsync.thread_handler.__code__)


def _awaiting(frame):
    """Hand the user frames from ``frame`` (the coroutine awaiting a sync_to_async call) outwards to the walks
    made in the thread that runs it; the token to take them back, None when the recorder failed."""
    try:
        return awaited.set(awaiting(_depth, frame))
    except Exception as exc:
        report("sql instrument", exc)
        return None


def uninstall() -> None:
    unpatch_all(_originals)
