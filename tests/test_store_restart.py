"""With the SQLite store (the default), the traces of a real server process are there after it stops and a
new one starts: the dashboard's list and downloads, and ``manage.py lifecycle traces`` in between."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import orjson

from tests.test_redis_scaleout import Server

REPO = Path(__file__).resolve().parent.parent

SETTINGS = '''\
from tests.settings import *  # noqa: F401,F403

LIFECYCLE = {{"TRACE_STORE": "sqlite", "TRACE_STORE_OPTIONS": {{"path": {path!r}}}}}
'''


def get(server: Server, path: str) -> bytes:
    with urllib.request.urlopen(f"{server.origin}{path}", timeout=10) as response:
        return response.read()


def start(name: str, env: dict[str, str], tmp: Path) -> Server:
    server = Server(name, env, tmp / f"daphne-{name}.log")
    server.wait_ready(time.monotonic() + 60)
    return server


def test_traces_survive_a_server_restart(tmp_path):
    (tmp_path / "restart_settings.py").write_text(SETTINGS.format(path=str(tmp_path / "traces.sqlite3")))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "restart_settings", "DJANGO_DEBUG": "1",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "PYTHONPATH": os.pathsep.join(p for p in (str(tmp_path), str(REPO), os.environ.get("PYTHONPATH")) if p)}
    env.pop("LIFECYCLE_REDIS_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env,
                   check=True, timeout=60)
    first = start("first", env, tmp_path)
    try:
        get(first, "/t/queries/2/")
    finally:
        first.stop()  # right after the response: what the writer had queued is written at exit

    listing = subprocess.run([sys.executable, "manage.py", "lifecycle", "traces", "list"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    (line,) = listing.stdout.splitlines()
    assert " GET  /t/queries/2/  200 " in line and line.endswith(" 2 queries"), line
    trace_id = line.split()[0]

    second = start("second", env, tmp_path)
    try:
        rows = orjson.loads(get(second, "/__lifecycle__/api/traces/"))["traces"]
        assert [row["id"] for row in rows] == [trace_id]
        trace = orjson.loads(get(second, f"/__lifecycle__/api/traces/{trace_id}/?download=1"))
        assert trace["request"]["path"] == "/t/queries/2/" and trace["summary"]["queries"] == 2
    except BaseException:
        print(f"--- first ---\n{first.output()}\n--- second ---\n{second.output()}")
        raise
    finally:
        second.stop()
