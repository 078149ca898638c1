"""Exports opened where users open them: the dashboard's Export menu downloads a Chrome trace, and speedscope's
own build (the ``speedscope`` npm package, a dev dependency of frontend/) imports it in Chromium with the span
tree intact: its trace-event importer warns on every event that does not nest in the one open on its thread.

Perfetto's UI and trace processor cannot be installed from the package registries here (the trace processor
is downloaded at run time); the Chrome format's nesting rules they share are checked in
``tests/export/test_chrome.py``.
"""

from __future__ import annotations

import functools
import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lifecycle.export import export
from tests.browser.conftest import ROOT, _missing
from tests.browser.test_dashboard import click_row, page, request_row  # noqa: F401 (the page fixture)
from tests.export.helpers import record_concurrent

pytestmark = pytest.mark.browser

SPEEDSCOPE = ROOT / "frontend" / "node_modules" / "speedscope" / "dist" / "release"


class Viewer:
    """speedscope's release build and the files to open, served from one local folder."""

    def __init__(self, folder: Path) -> None:
        if not (SPEEDSCOPE / "index.html").exists():
            _missing(f"speedscope is not installed at {SPEEDSCOPE} (cd frontend && npm ci)")
        (folder / "speedscope").symlink_to(SPEEDSCOPE, target_is_directory=True)
        (folder / "files").mkdir()
        self.folder = folder
        handler = functools.partial(_Quiet, directory=str(folder))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def open(self, browser, name: str, data: bytes) -> dict:
        """Import ``data`` in speedscope: the profile shown (its process and thread names), the importer's
    warnings, any alert."""
        (self.folder / "files" / name).write_bytes(data)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        tab = context.new_page()
        messages: list[tuple[str, str]] = []
        tab.on("console", lambda m: messages.append((m.type, m.text)))
        tab.on("dialog", lambda d: (messages.append(("alert", d.message)), d.dismiss()))
        tab.goto(f"{self.url}/speedscope/index.html#profileURL={self.url}/files/{name}")
        # speedscope logs "Importing as ..." then "import: N ms" once its importer is done (warnings come
        # before), and names the page after the file.
        tab.wait_for_function("() => document.title !== 'speedscope'", timeout=15000)
        tab.wait_for_timeout(200)
        result = {
            "title": tab.title(),
            "format": [text for kind, text in messages if kind == "log" and text.startswith("Importing as")],
            "warnings": [text for kind, text in messages if kind == "warning" and "GL Driver" not in text],
            "alerts": [text for kind, text in messages if kind == "alert"],
            "profile": next((line for line in tab.inner_text("body").splitlines() if "(pid " in line), None),
        }
        context.close()
        return result

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def viewer(tmp_path) -> Iterator[Viewer]:
    v = Viewer(tmp_path)
    yield v
    v.close()


def test_speedscope_flags_a_file_that_does_not_nest(browser, viewer):
    """The control: two events that overlap on one thread make speedscope's importer warn."""
    bad = {"traceEvents": [{"ph": "X", "name": "a", "ts": 0, "dur": 10, "pid": 1, "tid": 1},
                           {"ph": "X", "name": "b", "ts": 5, "dur": 10, "pid": 1, "tid": 1}]}
    result = viewer.open(browser, "bad.json", json.dumps(bad).encode())
    assert result["warnings"], result


def test_speedscope_opens_concurrent_spans_nested(browser, viewer):
    trace = record_concurrent()
    result = viewer.open(browser, "concurrent.chrome-trace.json", export(trace, "chrome"))
    assert result["format"] == ["Importing as Trace Event Format profile"]
    assert result["alerts"] == [] and result["warnings"] == [], result
    assert result["profile"] == f"GET /gather/ (trace {trace.id}) (pid 1), request (tid 1) (1/2)", (
        "the concurrent spans' thread is a second profile")


def test_the_export_menu_downloads_what_speedscope_opens(browser, viewer, page, demo_server, artifacts):  # noqa: F811
    row = request_row(page, demo_server, "/books/")
    click_row(page, row["id"])
    page.wait_for_selector("[data-testid=export-menu]:not([hidden])", timeout=10000)
    page.locator("[data-testid=export-menu] > summary").click()
    page.screenshot(path=str(artifacts / "export-menu.png"))
    with page.expect_download() as download:
        page.locator("[data-testid=export-chrome]").click()
    assert download.value.suggested_filename.endswith(f"-GET-books-{row['id']}.chrome-trace.json")
    data = Path(download.value.path()).read_bytes()
    doc = json.loads(data)
    assert doc["otherData"]["trace_id"] == row["id"]
    assert not page.locator("[data-testid=export-menu]").evaluate("el => el.open"), "the menu closes"
    result = viewer.open(browser, download.value.suggested_filename, data)
    assert result["alerts"] == [] and result["warnings"] == [], result
    assert result["profile"] == f"GET /books/ (trace {row['id']}) (pid 1), request (tid 1)"
    # The same trace as OTLP/JSON from the endpoint the menu's other entry links to.
    with urllib.request.urlopen(f"{demo_server.url}/__lifecycle__/api/traces/{row['id']}/?format=otlp") as r:
        otlp = json.load(r)
    spans = otlp["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert spans[0]["name"] == "GET /books/" and len(spans) > 20
