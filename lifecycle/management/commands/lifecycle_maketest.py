"""``manage.py lifecycle_maketest TRACE.json [-o tests/test_x.py] [--force]``: a pytest test file that
replays a saved trace (a dashboard download or a file recorded by a replay).

The test database starts empty, and a page replayed without its data may pass while comparing nothing.
So when the recording read tables, the file has a ``page_data`` fixture naming them that fails until the
user has created the data (and deleted its ``pytest.fail`` line)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lifecycle.replay.client import ReplayError, spec_from_request
from lifecycle.trace import Trace, TraceFormatError

TEMPLATE = '''"""Replay of {what}, recorded {started_at}.

Written by `manage.py lifecycle_maketest {source}`.
The request runs again through the test client, against today's code and the test database, and the
test fails when the result changes: another view or status, other templates, SQL that is new or runs
more often than recorded (an N+1), new repeated queries.
Recorded: {recorded}.
{notes}"""

from __future__ import annotations

from pathlib import Path

import pytest

TRACE = {trace_expr}


{data_fixture}@pytest.mark.django_db
def test_replay_{name}({fixtures}):
{user_setup}    lifecycle_replay(TRACE)
'''

DATA_FIXTURE = '''@pytest.fixture
def page_data(db):
    """The rows this page shows. The replay runs against the test database, which starts empty: a page
    replayed without its data runs other queries than the recording (or the same few, and compares
    nothing). The recording read {tables}.

    Create them here (factories, ``Model.objects.create``, ``call_command("loaddata", ...)``), then delete
    the pytest.fail line.
    """
    pytest.fail(
        "create the data this page needs in the page_data fixture of {out} (the recording read "
        "{tables_short}), then delete this line"
    )
'''

# Tables that hold the test's session and user, not the page's data.
_NOT_PAGE_DATA = ("django_session", "django_content_type", "auth_permission", "django_migrations")
_TABLE = re.compile(r'\b(?:FROM|JOIN)\s+[`"\[]?([A-Za-z_][\w$]*)[`"\]]?', re.IGNORECASE)


class Command(BaseCommand):
    help = "Write a pytest test file that replays a saved lifecycle trace and fails on regressions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("trace", help="the trace file (JSON, as downloaded from the dashboard)")
        parser.add_argument(
            "-o", "--output", help="the test file to write (default: tests/test_replay_NAME.py)"
        )
        parser.add_argument("--force", action="store_true", help="overwrite the test file if it exists")

    def handle(self, *args: Any, trace: str, output: str | None, force: bool, **options: Any) -> None:
        source = Path(trace)
        try:
            loaded = Trace.load(source)
        except TraceFormatError as exc:
            raise CommandError(str(exc)) from None
        try:
            spec = spec_from_request(loaded.request, str(source))
        except ReplayError as exc:
            raise CommandError(str(exc)) from None

        stem = source.name[:-5] if source.name.endswith(".json") else source.name
        name = re.sub(r"\W+", "_", stem).strip("_").lower() or "trace"
        if name[0].isdigit():
            name = f"trace_{name}"
        out = (
            Path(output)
            if output
            else (Path("tests") if Path("tests").is_dir() else Path()) / f"test_replay_{name}.py"
        )
        if out.exists() and not force:
            raise CommandError(f"{out} exists; pass --force to overwrite it")

        user = loaded.request.get("user") or None
        fixtures = "lifecycle_replay"
        user_setup = ""
        if user and user.get("username"):
            fixtures += ", django_user_model"
            user_setup = (
                f"    # Recorded as user {user['username']!r}: the replay logs in the user of that name.\n"
                f"    django_user_model.objects.create_user(username={user['username']!r})\n"
            )
        elif user:
            user_setup = (
                f"    # Recorded as the user with id {user.get('id')!r}, who must exist in the test "
                "database (or pass user=...).\n"
            )
        tables = _tables_read(loaded)
        if tables:
            fixtures += ", page_data"
        summary = loaded.summary or {}
        templates = len({s.attrs.get("template") or s.name for s in loaded.spans_of("template")})
        n_plus_one = summary.get("n_plus_one", 0)
        recorded = (
            f"status {loaded.status}, {_n(summary.get('queries', 0), 'query', 'queries')} "
            f"({_n(n_plus_one, 'N+1 group')}), {_n(templates, 'template')}"
        )
        resolver = loaded.resolver or {}
        what = spec.describe() + (f" (url name {resolver['url_name']!r})" if resolver.get("url_name") else "")
        notes = "".join(f"\nNote: {note}." for note in spec.notes)
        text = TEMPLATE.format(
            what=what,
            started_at=loaded.started_at,
            source=source.as_posix(),
            recorded=recorded,
            notes=notes + ("\n" if notes else ""),
            trace_expr=_trace_expr(source, out),
            name=name,
            fixtures=fixtures,
            user_setup=user_setup,
            data_fixture=DATA_FIXTURE.format(
                tables=", ".join(f"{t} ({_n(n, 'query', 'queries')})" for t, n in tables.items()),
                tables_short=", ".join(tables),
                out=out.as_posix(),
            ) + "\n\n" if tables else "",
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        self.stdout.write(self.style.SUCCESS(f"Wrote {out} (replays {what})"))
        try:
            source.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            self.stderr.write(
                f"Note: {source} lies outside this project; move it next to your tests (for example "
                "tests/traces/) and run this command again, so that the test finds it everywhere."
            )


def _tables_read(trace: Trace) -> dict[str, int]:
    """Table -> number of the recording's SELECTs that read it, the page's data (not sessions)."""
    out: dict[str, int] = {}
    for span in trace.spans_of("sql"):
        sql = span.attrs.get("sql")
        if not isinstance(sql, str) or not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        for table in dict.fromkeys(_TABLE.findall(sql)):
            if table.lower() not in _NOT_PAGE_DATA:
                out[table] = out.get(table, 0) + 1
    return out


def _n(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def _trace_expr(trace: Path, out: Path) -> str:
    """The trace's path relative to the test file when both lie in this project, else its absolute path."""
    trace, folder, project = trace.resolve(), out.resolve().parent, Path.cwd().resolve()
    if trace.is_relative_to(project) and folder.is_relative_to(project):
        parts = Path(os.path.relpath(trace, folder)).parts
        return "Path(__file__).parent" + "".join(f" / {json.dumps(part)}" for part in parts)
    return f"Path({json.dumps(str(trace))})  # outside the project: move it next to the tests"
