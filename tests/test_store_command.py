"""``manage.py lifecycle traces list|export|clear``: what the server processes recorded, from the command line."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from lifecycle import store
from lifecycle.store import RecentTraces
from lifecycle.stores.sqlite import SQLiteStore
from lifecycle.trace import Trace

REPO = Path(__file__).resolve().parent.parent
SAMPLE = Path(__file__).parent / "traces" / "book_list.json"


@pytest.fixture
def server(tmp_path) -> Iterator[RecentTraces]:
    """A server process's store (the same SQLite file the command is configured to read)."""
    path = tmp_path / "traces.sqlite3"
    with override_settings(LIFECYCLE={"TRACE_STORE": "sqlite", "TRACE_STORE_OPTIONS": {"path": str(path)}}):
        recorder = RecentTraces(SQLiteStore(path=path))
        yield recorder
        recorder.backend.close()


def record(server: RecentTraces, trace_id: str, path: str = "/books/", *, queries: int = 3) -> None:
    trace = Trace.load(SAMPLE)
    trace.id = trace_id
    trace.request["path"] = path
    trace.summary["queries"] = queries
    server.add(trace)
    assert server.flush(10)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("lifecycle", *args, stdout=out)
    return out.getvalue()


def test_list_shows_one_line_per_trace_newest_first(server):
    record(server, "1111000000000001", "/books/", queries=1)
    record(server, "1111000000000002", "/authors/", queries=12)
    lines = run("traces", "list").splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"1111000000000002  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  GET  /authors/  200  61\.0 ms  12 queries",
                        lines[0]), lines[0]
    assert lines[1].startswith("1111000000000001 ") and lines[1].endswith(" 1 query")
    assert run("traces", "list", "--limit", "1").splitlines() == lines[:1]


def test_list_of_an_empty_store_says_where_it_looked(server):
    assert run("traces", "list") == f"No traces in the SQLite file {server.backend.path}.\n"


def test_export_json_writes_the_trace(server, tmp_path):
    record(server, "2222000000000001")
    out = tmp_path / "out" / "trace.json"
    out.parent.mkdir()
    said = run("traces", "export", "2222000000000001", "-o", str(out))
    assert said.startswith(f"Wrote {out} (json, ")
    assert Trace.load(out).id == "2222000000000001"
    assert json.loads(run("traces", "export", "2222000000000001", "--format", "json"))["request"]["path"] == "/books/"


def test_export_in_another_format_goes_through_lifecycle_export(server, tmp_path):
    record(server, "2222000000000002")
    try:
        export = import_module("lifecycle.export")
    except ModuleNotFoundError:
        with pytest.raises(CommandError, match=r"unknown format 'chrome'; expected one of json"):
            run("traces", "export", "2222000000000002", "--format", "chrome")
        return
    out = tmp_path / "trace.chrome.json"
    run("traces", "export", "2222000000000002", "--format", "chrome", "-o", str(out))
    assert out.read_bytes() == export.export(server.get("2222000000000002"), "chrome")


@pytest.mark.parametrize(("args", "says"), [
    (("traces", "export", "nope"), r"no trace 'nope' in the SQLite file .* \(`manage.py lifecycle traces list` shows"),
    (("traces", "export", "3333000000000001", "--format", "svg"), r"unknown format 'svg'; expected one of .*json"),
    (("traces", "list", "--limit", "-1"), r"--limit: expected a non-negative integer, got -1"),
])
def test_bad_requests_are_clear_errors(server, args, says):
    record(server, "3333000000000001")
    with pytest.raises(CommandError, match=says):
        run(*args)


def test_a_damaged_trace_is_a_clear_error(server):
    import sqlite3

    record(server, "4444000000000001")
    with sqlite3.connect(server.backend.path) as conn:
        conn.execute("UPDATE traces SET data = '{\"format\": \"lifecycle-trace\", \"version\": 1}' "
                     "WHERE id = '4444000000000001'")
    with pytest.raises(CommandError, match=r"trace 4444000000000001 in the SQLite file .*: field 'id'"):
        run("traces", "export", "4444000000000001")


def test_an_unreachable_store_is_a_clear_error(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    with override_settings(LIFECYCLE={"TRACE_STORE": "sqlite",
                                      "TRACE_STORE_OPTIONS": {"path": str(blocked / "t.sqlite3")}}):
        with pytest.raises(CommandError, match=r"cannot open the trace store, the SQLite file .*t\.sqlite3"):
            run("traces", "list")
    with override_settings(LIFECYCLE={"TRACE_STORE": "redis", "TRACE_STORE_OPTIONS": {"url": "redis://127.0.0.1:1/0"}}):
        with pytest.raises(CommandError, match=r"reading Redis at redis://127.0.0.1:1/0 .* failed"):
            run("traces", "list")


def test_the_memory_store_cannot_be_read_from_the_command_line():
    with pytest.raises(CommandError, match=r"memory store: each server process keeps its traces in its own memory"):
        run("traces", "list")


def test_a_bad_store_setting_is_the_commands_error():
    with override_settings(LIFECYCLE={"TRACE_STORE": "lifecycle.nope.Store"}):
        with pytest.raises(CommandError, match=r"'lifecycle.nope.Store' cannot be imported"):
            run("traces", "list")


def test_clear_empties_the_store_for_the_servers(server):
    record(server, "5555000000000001")
    assert run("traces", "clear") == f"Cleared the traces in the SQLite file {server.backend.path}.\n"
    assert server.recent() == [] and run("traces", "list").startswith("No traces")


def test_the_command_in_its_own_process_sees_what_the_server_recorded(tmp_path):
    path = tmp_path / "traces.sqlite3"
    (tmp_path / "cmd_settings.py").write_text(
        "from tests.settings import *  # noqa: F403\n"
        f"LIFECYCLE = {{'TRACE_STORE': 'sqlite', 'TRACE_STORE_OPTIONS': {{'path': {str(path)!r}}}}}\n")
    server = RecentTraces(SQLiteStore(path=path))
    record(server, "6666000000000001", "/from/the/server/")
    server.backend.close()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cmd_settings",
           "PYTHONPATH": os.pathsep.join(p for p in (str(tmp_path), str(REPO), os.environ.get("PYTHONPATH")) if p)}
    listing = subprocess.run([sys.executable, "manage.py", "lifecycle", "traces", "list"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert "6666000000000001" in listing.stdout and "/from/the/server/" in listing.stdout
    missing = subprocess.run([sys.executable, "manage.py", "lifecycle", "traces", "export", "nope"], cwd=REPO,
                             env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "CommandError: no trace 'nope'" in missing.stderr
    assert store.recent() == []  # this test process's own store was never involved
