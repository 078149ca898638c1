from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
from django.conf import settings
from django.test import Client, override_settings

from lifecycle.checks import MIDDLEWARE_PATH
from tests.conftest import last_trace

SCHEMA = json.loads((Path(__file__).parent.parent / "lifecycle" / "schema" / "trace-v1.json").read_text())

TOOLBAR = {
    "DEBUG": True,
    "MIDDLEWARE": [MIDDLEWARE_PATH, "debug_toolbar.middleware.DebugToolbarMiddleware",
                   *[m for m in settings.MIDDLEWARE if m != MIDDLEWARE_PATH]],
    "DEBUG_TOOLBAR_CONFIG": {"SHOW_TOOLBAR_CALLBACK": lambda request: True, "IS_RUNNING_TESTS": False},
    "DEBUG_TOOLBAR_PANELS": ["debug_toolbar.panels.sql.SQLPanel", "debug_toolbar.panels.templates.TemplatesPanel",
                             "lifecycle.panels.LifecyclePanel"],
}


def test_panel_shows_this_requests_trace(seeded):
    with override_settings(**TOOLBAR):
        client = Client()
        response = client.get("/books/")
        html = response.content.decode()
        assert 'id="djDebug"' in html, "the toolbar is injected"
        assert "LifecyclePanel" in html
        assert "21 queries · 1 N+1" in html
        request_id = re.search(r'data-request-id="([0-9a-f]+)"', html).group(1)
        panel = client.get("/__debug__/render_panel/", {"request_id": request_id, "panel_id": "LifecyclePanel"})
    content = panel.json()["content"]
    trace = last_trace()
    assert trace.id in content
    assert "N+1" in content and "shop_author" in content
    assert f"/__lifecycle__/#trace={trace.id}" in content
    # The trace itself is unaffected by the toolbar: same queries as without it.
    assert trace.summary["queries"] == 21


def _panel(path: str) -> str:
    with override_settings(**TOOLBAR):
        client = Client()
        html = client.get(path).content.decode()
        request_id = re.search(r'data-request-id="([0-9a-f]+)"', html).group(1)
        panel = client.get("/__debug__/render_panel/", {"request_id": request_id, "panel_id": "LifecyclePanel"})
    return panel.json()["content"]


def _panel_trace(content: str) -> tuple[dict, int]:
    """The trace the panel's script draws (its json_script element), and the snapshot's time."""
    data = re.search(r'<script type="application/json">(.*?)</script>', content, re.S).group(1)
    now_ns = int(re.search(r'data-now-ns="(\d+)"', content).group(1))
    return json.loads(data), now_ns


def test_spans_still_open_at_the_snapshot_show_as_running(seeded):
    content = _panel("/books/")
    trace, now_ns = _panel_trace(content)
    # The request and the toolbar's own middleware are still running when the toolbar collects the panels:
    # no duration; the waterfall draws them up to the snapshot's time, after their start.
    assert trace["duration_ns"] is None
    request = next(s for s in trace["spans"] if s["kind"] == "request")
    toolbar = next(s for s in trace["spans"] if s["kind"] == "middleware" and "DebugToolbarMiddleware" in s["name"])
    assert request["duration_ns"] is None and toolbar["duration_ns"] is None
    assert now_ns > toolbar["start_ns"] >= request["start_ns"]
    assert all(s["duration_ns"] is not None for s in trace["spans"] if s["kind"] in ("sql", "template"))
    assert "Self time (ms)" in content


def test_panel_draws_the_dashboards_waterfall_from_the_trace_with_no_inline_script_or_style(seeded):
    with override_settings(**TOOLBAR):
        client = Client()
        html = client.get("/books/").content.decode()
        request_id = re.search(r'data-request-id="([0-9a-f]+)"', html).group(1)
        answer = client.get("/__debug__/render_panel/", {"request_id": request_id, "panel_id": "LifecyclePanel"})
    content = answer.json()["content"]
    # The toolbar loads the panel's script as a module once the content is in the page.
    assert answer.json()["scripts"] == ["/static/lifecycle/panel.js"]
    trace, _ = _panel_trace(content)
    jsonschema.validate(trace, SCHEMA)
    recorded = last_trace()
    assert trace["id"] == recorded.id
    assert trace["summary"]["queries"] == 21 and trace["summary"]["self_time_ns"]["sql"] > 0
    assert {s["name"] for s in trace["spans"] if s["kind"] == "template"} >= {"shop/book_list.html"}
    assert 'data-lifecycle-panel-view' in content and "static/lifecycle/panel.css" in content
    # Content-Security-Policy without 'unsafe-inline': no style attribute, no script run from the content.
    assert "style=" not in content
    assert re.findall(r"<script\b[^>]*>", content) == ['<script type="application/json">']
    assert "<table" in content and "N+1 queries" in content, "the summary that needs no script stays"


def test_panel_shows_hostile_sql_as_data_only(db):
    content = _panel("/t/hostile/")
    # Only in the trace data (drawn as text by the script), which cannot end its script element.
    assert "<img" not in content
    data = re.search(r'<script type="application/json">(.*?)</script>', content, re.S).group(1)
    assert "<" not in data and ">" not in data
    trace, _ = _panel_trace(content)
    assert any("<img src=x onerror=alert(1)>" in s["name"] for s in trace["spans"])


def test_panel_shows_the_n_plus_one_template_line_chain(seeded):
    content = _panel("/books/")
    assert "N+1: 20 ×" in content
    assert "<ol class=\"lifecycle-chain\">" in content
