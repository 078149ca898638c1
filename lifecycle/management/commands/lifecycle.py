"""``manage.py lifecycle traces list|export|clear``: the recorded traces from the command line.

The command reads the trace store the server processes write (``LIFECYCLE["TRACE_STORE"]``: the SQLite file
or Redis), so it sees what they recorded; with the memory store there is nothing it can read.

- ``traces list [--limit N]``: one line per trace, newest first: id, time, method, path, status, duration,
  queries.
- ``traces export ID [--format json|chrome|otlp] [-o FILE]``: the trace in a file (or on stdout).
- ``traces clear``: forget every trace (the dashboards' lists empty at their next refresh).
"""

from __future__ import annotations

from datetime import datetime
from importlib import import_module
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from lifecycle import store
from lifecycle.stores import StoreError, TraceStore
from lifecycle.trace import Trace, TraceFormatError


class Command(BaseCommand):
    help = "Work with the traces lifecycle recorded: list, export or clear them."

    def add_arguments(self, parser: CommandParser) -> None:
        groups = parser.add_subparsers(dest="group", metavar="traces", required=True)
        traces = groups.add_parser("traces", help="the recorded traces (in LIFECYCLE['TRACE_STORE'])")
        actions = traces.add_subparsers(dest="action", metavar="list|export|clear", required=True)
        listing = actions.add_parser("list", help="one line per trace, newest first")
        listing.add_argument("--limit", type=int, default=None, help="show at most this many (the newest)")
        export = actions.add_parser("export", help="write one trace to a file or stdout")
        export.add_argument("trace_id", metavar="ID", help="a trace id, as `traces list` shows it")
        export.add_argument("--format", default="json", help="json (the default), chrome or otlp")
        export.add_argument("-o", "--output", help="the file to write (default: stdout)")
        actions.add_parser("clear", help="forget every recorded trace, in every process sharing the store")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        backend = self.backend()
        try:
            if action == "list":
                self.list(backend, options["limit"])
            elif action == "export":
                self.export(backend, options["trace_id"], options["format"], options["output"])
            else:
                store.clear()
                self.stdout.write(f"Cleared the traces in {backend.describe()}.")
        except StoreError as exc:
            raise CommandError(str(exc)) from None

    def backend(self) -> TraceStore:
        error = store.backend_error()
        if error:
            raise CommandError(error)
        backend = store.backend()
        if not backend.shared:
            raise CommandError(
                "LIFECYCLE['TRACE_STORE'] is the memory store: each server process keeps its traces in its own "
                "memory, which this command cannot read. Use 'sqlite' (the default) or 'redis'.")
        store.flush(5.0)  # what this process recorded itself (call_command in a test or a shell)
        return backend

    def list(self, backend: TraceStore, limit: int | None) -> None:
        if limit is not None and limit < 0:
            raise CommandError(f"--limit: expected a non-negative integer, got {limit}")
        rows = [row for _, row in backend.recent(backend.max_traces if limit is None else limit)]
        if not rows:
            self.stdout.write(f"No traces in {backend.describe()}.")
            return
        lines = [_columns(row) for row in rows]
        widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
        right = {4, 5, 6}  # status, duration, queries
        for line in lines:
            self.stdout.write("  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                                        for i, (cell, w) in enumerate(zip(line, widths, strict=True))).rstrip())

    def export(self, backend: TraceStore, trace_id: str, fmt: str, output: str | None) -> None:
        exporter, formats = _exporter()
        if fmt not in formats:
            raise CommandError(f"unknown format {fmt!r}; expected one of {', '.join(formats)}")
        if exporter is None and fmt != "json":
            raise CommandError(f"the {fmt} format needs lifecycle.export, which this installation lacks")
        data = backend.get_json(trace_id)
        if data is None:
            raise CommandError(f"no trace {trace_id!r} in {backend.describe()} (`manage.py lifecycle traces list` "
                               "shows the ids of the traces it keeps)")
        try:
            trace = Trace.from_json(data, source=f"trace {trace_id} in {backend.describe()}")
        except TraceFormatError as exc:
            raise CommandError(str(exc)) from None
        if fmt == "json" and exporter is None:
            out = trace.to_json(indent=True) + b"\n"
        else:
            try:
                out = exporter.export(trace, fmt)
            except ValueError as exc:
                raise CommandError(f"cannot export trace {trace_id!r} as {fmt}: {exc}") from None
        if output is None:
            self.stdout.write(out.decode("utf-8", "replace"), ending="")
            return
        try:
            Path(output).write_bytes(out)
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc}") from None
        self.stdout.write(f"Wrote {output} ({fmt}, {len(out)} bytes) from trace {trace_id}.")


def _exporter() -> tuple[Any, list[str]]:
    """``lifecycle.export`` and its formats, or None and ``["json"]`` where it is not installed."""
    try:
        export = import_module("lifecycle.export")
    except ModuleNotFoundError as exc:
        if exc.name != "lifecycle.export":
            raise
        return None, ["json"]
    return export, list(export.formats())


def _columns(row: dict[str, Any]) -> list[str]:
    started = str(row.get("started_at") or "")
    try:
        when = datetime.fromisoformat(started)
        if timezone.is_aware(when):
            when = timezone.localtime(when)
        started = when.strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        pass
    method = row.get("method") or ("WS" if row.get("kind") == "websocket" else "-")
    path = str(row.get("path") or "")
    if row.get("event"):
        path = f"{path} ({row['event']})"
    duration = row.get("duration_ns")
    queries = row.get("queries") or 0
    return [
        str(row.get("id")), started, str(method), path,
        str(row["status"]) if row.get("status") is not None else "-",
        f"{duration / 1e6:.1f} ms" if isinstance(duration, (int, float)) else "-",
        f"{queries} {'query' if queries == 1 else 'queries'}",
    ]
