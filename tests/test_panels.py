from __future__ import annotations

import re

from django.conf import settings
from django.test import Client, override_settings

from lifecycle.checks import MIDDLEWARE_PATH
from tests.conftest import last_trace

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


def test_panel_shows_hostile_sql_as_text(db):
    with override_settings(**TOOLBAR):
        client = Client()
        html = client.get("/t/hostile/").content.decode()
        request_id = re.search(r'data-request-id="([0-9a-f]+)"', html).group(1)
        panel = client.get("/__debug__/render_panel/", {"request_id": request_id, "panel_id": "LifecyclePanel"})
    content = panel.json()["content"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in content
    assert "<img" not in content


def _panel(path: str) -> str:
    with override_settings(**TOOLBAR):
        client = Client()
        html = client.get(path).content.decode()
        request_id = re.search(r'data-request-id="([0-9a-f]+)"', html).group(1)
        panel = client.get("/__debug__/render_panel/", {"request_id": request_id, "panel_id": "LifecyclePanel"})
    return panel.json()["content"]


def test_spans_still_open_at_the_snapshot_show_as_running(seeded):
    content = _panel("/books/")
    # The request and the toolbar's own middleware are still running when the toolbar collects the panels.
    row = r"<tr><td style=\"padding-left: \d+em\">(\w+): ([^<]*)(?:<br>.*?)?</td><td>[^<]*</td><td>([^<]*)</td>"
    rows = re.findall(row, content)
    request = next(r for r in rows if r[0] == "request")
    assert request[2].startswith("running (")
    assert "0.000" not in request[2].split("(")[0]
    toolbar = next(r for r in rows if r[0] == "middleware" and "DebugToolbarMiddleware" in r[1])
    assert toolbar[2].startswith("running (")
    assert "Self time (ms)" in content


def test_panel_shows_the_n_plus_one_template_line_chain(seeded):
    content = _panel("/books/")
    assert "N+1: 20 ×" in content
    assert "<ol class=\"lifecycle-chain\">" in content
