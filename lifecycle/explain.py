"""EXPLAIN for a recorded SELECT: the dashboard's "EXPLAIN" button (``POST api/traces/<id>/spans/<span>/explain/``).

The client names a trace and a span, never SQL: the statement and its parameters are read here, from the
trace this process (or the shared store) recorded, so the endpoint can run nothing but a query the site
itself ran. Only a single plain ``SELECT`` is explained (no ``FOR UPDATE``, no ``SELECT ... INTO``, no
second statement), on the database alias it ran on, inside a transaction that is always rolled back:

- PostgreSQL: ``SET TRANSACTION READ ONLY`` and a ``statement_timeout``, then ``EXPLAIN``; ``EXPLAIN
  (ANALYZE, BUFFERS)`` runs the query, only when asked (the dashboard's second, explicit click), and a
  function that writes is refused by the read-only transaction.
- SQLite: ``EXPLAIN QUERY PLAN`` (which does not run the query) with ``PRAGMA query_only`` on around it.
  SQLite has no EXPLAIN ANALYZE.

Parameters are what the trace recorded: display strings (``lifecycle.redact.values.sql_params``). They
are turned back into values the database reads the same way (strings, ``None``, the ``repr`` of a date,
a ``Decimal`` or a ``UUID``); a parameter that redaction replaced, that was cut to ``MAX_VALUE_LENGTH``
or that was binary cannot be, and the query is refused rather than explained with a wrong value.
"""

from __future__ import annotations

import ast
import datetime
import json
import re
from typing import Any

from django.db import DatabaseError, connections, transaction

from lifecycle import store
from lifecycle.conf import REDACTED

# How long EXPLAIN ANALYZE may run the query on PostgreSQL before the database cancels it.
STATEMENT_TIMEOUT_MS = 5000
# Rows of a plan sent back (a plan has one row per node; a huge one is cut).
MAX_ROWS = 2000

VENDORS = ("postgresql", "sqlite")


class Refused(Exception):
    """Why a span cannot be explained, in one sentence; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def explain(trace_id: str, span_id: Any, *, analyze: bool = False) -> dict[str, Any]:
    """The plan of span ``span_id`` of trace ``trace_id``: ``{"vendor", "alias", "analyze", "statement",
    "columns", "rows"}``; raises :class:`Refused`."""
    sql, params, alias, vendor = recorded_select(trace_id, span_id)
    if analyze and vendor != "postgresql":
        raise Refused(f"EXPLAIN ANALYZE is for PostgreSQL only; this query ran on {vendor} (alias {alias!r}).")
    try:
        if vendor == "postgresql":
            prefix = "EXPLAIN (ANALYZE, BUFFERS)" if analyze else "EXPLAIN"
            columns, rows = _run_postgresql(alias, f"{prefix} {sql}", params)
        else:
            prefix = "EXPLAIN QUERY PLAN"
            columns, rows = _run_sqlite(alias, f"{prefix} {sql}", params)
    except (DatabaseError, TypeError, ValueError) as exc:  # ValueError, TypeError: a parameter not adapted
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise Refused(f"The database refused the EXPLAIN: {type(exc).__name__}: {message}", 422) from None
    return {"vendor": vendor, "alias": alias, "analyze": analyze, "statement": prefix, "columns": columns,
            "rows": rows[:MAX_ROWS], "truncated": len(rows) > MAX_ROWS}


def answer(trace_id: str, span_id: Any, *, analyze: bool = False) -> tuple[int, dict[str, Any]]:
    """``(200, plan)`` or ``(4xx, {"error": why})``: what the HTTP endpoint and the websocket send."""
    try:
        return 200, explain(trace_id, span_id, analyze=analyze)
    except Refused as exc:
        return exc.status, {"error": exc.message}


def recorded_select(trace_id: str, span_id: Any) -> tuple[str, tuple[Any, ...] | None, str, str]:
    """The SQL, parameters, alias and vendor of a recorded SELECT span; :class:`Refused` otherwise."""
    try:
        trace = store.get(trace_id)
    except store.StoreError as exc:  # the shared store is unreachable, or its entry is damaged
        raise Refused(str(exc), 503) from None
    except ValueError:  # TraceFormatError: a stored trace that no longer reads
        trace = None
    if trace is None:
        raise Refused(f"No trace {trace_id[:80]!r} in the trace store (it keeps the newest RECENT_TRACES "
                      "finished traces): record the request again.", 404)
    if isinstance(span_id, str) and span_id.isascii() and span_id.isdigit() and len(span_id) <= 18:
        span_id = int(span_id)
    if type(span_id) is not int:
        raise Refused(f"span: expected a span id (a non-negative integer), got {str(span_id)[:40]!r}.")
    span = next((s for s in trace.spans if s.id == span_id), None)
    if span is None:
        raise Refused(f"Trace {trace_id!r} has no span {span_id}.", 404)
    if span.kind != "sql":
        raise Refused(f"Span {span_id} is a {span.kind!r} span, not a query: only queries can be explained.")
    attrs = span.attrs
    sql = attrs.get("sql")
    alias = attrs.get("alias")
    vendor = attrs.get("vendor")
    if not isinstance(sql, str) or not isinstance(alias, str) or not isinstance(vendor, str):
        raise Refused(f"Span {span_id} does not hold the query's SQL, alias and vendor.")
    check_select(sql)
    if attrs.get("many"):
        raise Refused("This query ran with executemany (several parameter sets): only a single SELECT can be "
                      "explained.")
    if vendor not in VENDORS:
        raise Refused(f"EXPLAIN is available for PostgreSQL and SQLite; this query ran on {vendor}.")
    if alias not in connections.settings:
        raise Refused(f"The query ran on database alias {alias!r}, which this process does not have.")
    if connections[alias].vendor != vendor:
        raise Refused(f"The query ran on {vendor}, but alias {alias!r} is now {connections[alias].vendor}.")
    recorded = attrs.get("params")
    if recorded is None:
        recorded = []
    if not isinstance(recorded, list):
        raise Refused(f"Span {span_id}'s parameters are not a list.")
    values = [param_value(p, i) for i, p in enumerate(recorded, 1)]
    if values:
        return sql, tuple(values), alias, vendor
    # No parameters: Django formats the SQL (and unescapes "%%") only when it is given a parameter list.
    return sql, (() if "%%" in sql else None), alias, vendor


# -- the statement ------------------------------------------------------------------------------------------

# What is not code in SQL: comments, string literals (standard, E'' with backslash escapes, $tag$ dollar
# quotes) and quoted identifiers. Matched from the left, so that a quote inside a comment is not a quote.
_NOT_CODE = re.compile(
    r"""--[^\n]*
      | /\*.*?\*/
      | (?<![\w$])[Ee]'(?:[^'\\]|\\.|'')*'
      | '(?:[^']|'')*'
      | "(?:[^"]|"")*"
      | `(?:[^`]|``)*`
      | \$(?P<tag>[A-Za-z_]\w*)?\$.*?\$(?P=tag)?\$
    """,
    re.S | re.X,
)
_QUOTES = re.compile(r"""['"`]|/\*|\$\w*\$""")
_LOCKING = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE|KEY\s+SHARE)\b", re.I)
_INTO = re.compile(r"\bINTO\b", re.I)


def code_of(sql: str) -> str:
    """``sql`` with comments, literals and quoted identifiers blanked: what is left is keywords and names."""
    code = _NOT_CODE.sub(" ", sql)
    if _QUOTES.search(code):
        raise Refused("The statement has an unterminated string, identifier or comment: it cannot be explained.")
    return code


def check_select(sql: str) -> None:
    """Refuse anything but one plain SELECT (Refused says what the statement is instead)."""
    if REDACTED in sql:
        raise Refused("Redaction replaced part of this statement's text: it cannot be explained faithfully.")
    code = code_of(sql).strip()
    if code.endswith(";"):
        code = code[:-1].rstrip()
    if ";" in code:
        raise Refused("The statement holds several statements (a ';' outside quotes): only a single SELECT "
                      "can be explained.")
    first = re.match(r"[(\s]*([A-Za-z]+)", code)
    word = first.group(1).upper() if first else ""
    if word != "SELECT":
        raise Refused(f"Only a SELECT can be explained; this statement starts with {word or code[:20]!r}.")
    if m := _LOCKING.search(code):
        raise Refused(f"A SELECT ... {' '.join(m.group(0).upper().split())} takes row locks: it is not explained.")
    if _INTO.search(code):
        raise Refused("A SELECT ... INTO writes (it creates a table or assigns variables): it is not explained.")


# -- the parameters -----------------------------------------------------------------------------------------

_CUT = re.compile(r"… \(\d+ chars\)\Z")
_BYTES = re.compile(r"<\d+ bytes>\Z")
_WRAPPED = re.compile(r"(?:Decimal|UUID)\('([^'\\]*)'\)\Z")
_DATETIME = re.compile(r"datetime\.(?:datetime|date|time)\(")
_JSON = re.compile(r"(?:Jsonb|Json)\((.*)\)\Z", re.S)  # psycopg's JSON wrappers (a JSONField's value)
_OBJECT = re.compile(r"[A-Za-z_][\w.]*\(.*\)\Z", re.S)  # the repr of some other object


def param_value(shown: Any, position: int) -> Any:
    """The value to bind for a recorded parameter (a display string); :class:`Refused` when it cannot be
    turned back into the value the query ran with.

    Strings stay strings (an untyped literal that PostgreSQL casts to the column's type, as it did for the
    original value where the text is the same); ``"NULL"`` is None; the ``repr`` of a ``Decimal``, a ``UUID``
    or a ``datetime.date``/``datetime``/``time`` becomes its text."""
    if shown is None:
        return None
    if not isinstance(shown, str):
        return shown if isinstance(shown, (int, float)) and not isinstance(shown, bool) else str(shown)
    if shown == REDACTED or REDACTED in shown:
        raise Refused(f"Parameter {position} was redacted (secret-looking SQL or value): the query cannot be "
                      "explained faithfully without it.")
    if _CUT.search(shown):
        raise Refused(f"Parameter {position} was cut to MAX_VALUE_LENGTH when recorded: the query cannot be "
                      "explained faithfully without its whole value.")
    if _BYTES.match(shown):
        raise Refused(f"Parameter {position} is binary ({shown}), which the trace does not keep: the query cannot "
                      "be explained faithfully.")
    if shown == "NULL":
        return None
    if m := _WRAPPED.match(shown):
        return m.group(1)
    if _DATETIME.match(shown):
        value = _datetime_value(shown)
        if value is None:
            raise Refused(f"Parameter {position} ({shown[:80]}) cannot be turned back into its value.")
        return value.isoformat(" ") if isinstance(value, datetime.datetime) else value.isoformat()
    if m := _JSON.match(shown):
        try:
            return json.dumps(ast.literal_eval(m.group(1)))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
    if _OBJECT.match(shown):
        raise Refused(f"Parameter {position} was recorded as {shown[:80]}, the text of an object that cannot be "
                      "turned back into its value: the query cannot be explained faithfully.")
    return shown


def _datetime_value(text: str) -> datetime.date | datetime.time | None:
    """``datetime.datetime(2026, 12, 7, 17, 0, tzinfo=datetime.timezone.utc)`` (a repr) read without eval."""
    try:
        node = ast.parse(text, mode="eval").body
        value = _literal(node)
    except (SyntaxError, ValueError, TypeError, OverflowError):
        return None
    return value if isinstance(value, (datetime.date, datetime.time)) else None


_CALLS: dict[str, Any] = {
    "datetime.datetime": datetime.datetime, "datetime.date": datetime.date, "datetime.time": datetime.time,
    "datetime.timedelta": datetime.timedelta, "datetime.timezone": datetime.timezone,
}


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    raise ValueError("not a name")


def _literal(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, str)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_literal(node.operand)
    if isinstance(node, ast.Attribute) and _dotted(node) == "datetime.timezone.utc":
        return datetime.UTC
    if isinstance(node, ast.Call):
        name = _dotted(node.func)
        args = [_literal(a) for a in node.args]
        kwargs = {k.arg: _literal(k.value) for k in node.keywords if k.arg}
        if name == "zoneinfo.ZoneInfo":
            from zoneinfo import ZoneInfo

            return ZoneInfo(*args, **kwargs)
        if name in _CALLS:
            return _CALLS[name](*args, **kwargs)
    raise ValueError(f"not a date literal: {ast.dump(node)[:60]}")


# -- running it ---------------------------------------------------------------------------------------------


def _rows(cursor) -> tuple[list[str], list[list[Any]]]:
    columns = [str(d[0]) for d in cursor.description or ()]
    rows = [[_cell(v) for v in row] for row in cursor.fetchmany(MAX_ROWS + 1)]
    return columns, rows


def _cell(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def _run_postgresql(alias: str, statement: str, params: Any) -> tuple[list[str], list[list[Any]]]:
    # atomic() opens a transaction (or, inside one, a savepoint): SET TRANSACTION READ ONLY holds until it
    # ends, even in a savepoint (PostgreSQL lets a transaction become read-only at any point, and a rolled
    # back savepoint restores the setting), and set_rollback always ends it with a rollback.
    with transaction.atomic(using=alias):
        with connections[alias].cursor() as cursor:
            cursor.execute("SET TRANSACTION READ ONLY")
            cursor.execute(f"SET LOCAL statement_timeout = {int(STATEMENT_TIMEOUT_MS)}")
            cursor.execute(statement, params)
            result = _rows(cursor)
        transaction.set_rollback(True, using=alias)
    return result


def _run_sqlite(alias: str, statement: str, params: Any) -> tuple[list[str], list[list[Any]]]:
    with transaction.atomic(using=alias):
        with connections[alias].cursor() as cursor:
            cursor.execute("PRAGMA query_only")
            before = int(cursor.fetchone()[0])
            cursor.execute("PRAGMA query_only = 1")
            try:
                cursor.execute(statement, params)
                result = _rows(cursor)
            finally:
                cursor.execute(f"PRAGMA query_only = {before}")
        transaction.set_rollback(True, using=alias)
    return result
