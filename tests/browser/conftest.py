"""Browser fixtures: the demo site served by a real daphne process, and Debian's Chromium via Playwright.

Playwright never downloads a browser here: it drives /usr/bin/chromium. Without it the browser tests
are skipped, except under CI=true, where a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("LIFECYCLE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"]


def _missing(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: browser tests must run)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    # Module scope: Playwright's sync API runs an event loop in this thread while it is open, which
    # would break async_to_sync in the other tests (they also run before these: see tests/conftest.py).
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _missing(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class DemoServer:
    def __init__(self, tmp: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'demo.sqlite3'}",
                    "LIFECYCLE_TRACE_STORE_PATH": str(tmp / "traces.sqlite3"),
                    "DJANGO_SETTINGS_MODULE": "demo_site.settings", "PYTHONPATH": str(ROOT), **(env or {})}
        self.env.pop("LIFECYCLE_REDIS_URL", None)
        self.log = tmp / "daphne.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> DemoServer:
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=self.env, check=True, cwd=ROOT)
        subprocess.run([*manage, "seed_demo", "-v", "0"], env=self.env, check=True, cwd=ROOT)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "demo_site.asgi:application"],
            env=self.env, cwd=ROOT, stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/favicon.ico", timeout=1)
            except urllib.error.HTTPError:
                return self
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
            else:
                return self
        raise RuntimeError(f"daphne did not start:\n{self.log.read_text()}")

    def get(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as response:
                response.read()
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def trace_ids(self, path: str) -> list[str]:
        """Ids of the recorded requests to ``path`` in the server's recent-trace store, newest first."""
        with urllib.request.urlopen(self.url + "/__lifecycle__/api/traces/", timeout=10) as response:
            rows = json.load(response)["traces"]
        return [row["id"] for row in rows if row["path"] == path]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def open_dashboard(browser, server, permissions=()):
    """A page on ``server``'s dashboard, live, and the list its JavaScript errors are collected in.
    ``permissions``: granted to the dashboard's origin first (``"clipboard-read"``...)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    if permissions:
        context.grant_permissions(list(permissions), origin=server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url + "/__lifecycle__/")
    page.wait_for_selector("[data-testid=connection-state][data-state=live]", timeout=15000)
    return context, page, errors


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    server = DemoServer(tmp_path_factory.mktemp("demo")).start()
    yield server
    server.stop()


@pytest.fixture
def artifacts(request) -> Path:
    folder = ROOT / "artifacts" / request.node.name.replace("/", "_").replace("[", "_").replace("]", "")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
