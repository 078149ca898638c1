"""Hostile trace files and API answers in the real dashboard (Chromium, against the demo site on daphne).

The dashboard's limits come from the config the view renders (``maxTraceBytes``, ``maxSpans``,
``maxDepth``, from ``LIFECYCLE["DASHBOARD_MAX_*"]``). The demo runs on the defaults; these tests run it
with lower limits (tests/browser/limits_settings.py), so that the test files stay small.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.browser.conftest import DemoServer, open_dashboard
from tests.browser.test_dashboard import click_row, request_row

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).resolve().parents[2] / "frontend" / "src" / "lib" / "__fixtures__"
FIXTURE = FIXTURES / "book-list-n-plus-one.json"


def sample_trace() -> dict:
    return json.loads(FIXTURE.read_text())


def limited_server(tmp_path_factory, name: str, **limits):
    env = {"DJANGO_SETTINGS_MODULE": "tests.browser.limits_settings", "LIFECYCLE_TEST_LIMITS": json.dumps(limits)}
    return DemoServer(tmp_path_factory.mktemp(name), env=env).start()


@pytest.fixture(scope="module")
def tight_server(tmp_path_factory):
    """The demo site with LIFECYCLE["DASHBOARD_MAX_TRACE_BYTES"] = 2000."""
    server = limited_server(tmp_path_factory, "demo-tight", DASHBOARD_MAX_TRACE_BYTES=2000)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def few_spans_server(tmp_path_factory):
    """The demo site with LIFECYCLE["DASHBOARD_MAX_SPANS"] = 50 (and the default depth limit, 256)."""
    server = limited_server(tmp_path_factory, "demo-few-spans", DASHBOARD_MAX_SPANS=50)
    yield server
    server.stop()


def open_file(page, name: str, text: str) -> None:
    page.locator("[data-testid=open-file-input]").set_input_files(
        {"name": name, "mimeType": "application/json", "buffer": text.encode()})


def test_a_file_over_the_limit_is_refused_naming_the_limit(browser, tight_server, artifacts):
    context, page, errors = open_dashboard(browser, tight_server)
    try:
        open_file(page, "big.json", json.dumps(sample_trace()))  # ~16 KB
        banner = page.locator("[data-testid=error-banner]")
        banner.wait_for(timeout=5000)
        text = banner.inner_text()
        assert "big.json is too large to open" in text
        assert "the dashboard's limit of 2 KB" in text and 'LIFECYCLE["DASHBOARD_MAX_TRACE_BYTES"]' in text
        assert page.locator("[data-testid=trace-view]").get_attribute("data-state") == "empty"
        page.screenshot(path=str(artifacts / "file-too-large.png"))
    finally:
        context.close()
    assert errors == []


def test_a_live_trace_and_an_api_answer_over_the_limit_are_refused(browser, tight_server):
    context, page, errors = open_dashboard(browser, tight_server)
    try:
        state = request_row(page, tight_server, "/books/")
        click_row(page, state["id"])
        page.wait_for_selector("[data-testid=trace-view][data-state=error]", timeout=10000)
        text = page.locator("[data-testid=trace-error]").inner_text()
        assert f"Trace {state['id']} is too large to open" in text and "limit of 2 KB" in text
        # Its trace.end frame was over the limit too: the row came, the trace was not expanded.
        banner = page.locator("[data-testid=error-banner]").inner_text()
        assert f"The live trace {state['id']} is too large to open" in banner
    finally:
        context.close()
    assert errors == []


def test_a_trace_with_too_many_spans_shows_the_first_with_a_notice(browser, few_spans_server, artifacts):
    trace = sample_trace()
    template = trace["spans"][-1]
    start = max(s["start_ns"] for s in trace["spans"])
    extra = [{**copy.deepcopy(template), "id": 1000 + i, "parent_id": 0, "start_ns": start + i} for i in range(169)]
    trace["spans"].extend(extra)  # 200 spans
    context, page, errors = open_dashboard(browser, few_spans_server)
    try:
        open_file(page, "many.json", json.dumps(trace))
        page.wait_for_selector("[data-testid=trace-view][data-state=done]", timeout=10000)
        notice = page.locator("[data-testid=trace-cut-notice]")
        assert notice.is_visible()
        assert "Showing 50 of 200 spans" in notice.inner_text()
        page.screenshot(path=str(artifacts / "too-many-spans.png"))
    finally:
        context.close()
    assert errors == []


def test_spans_nested_too_deep_are_cut_with_a_notice(browser, demo_server):
    trace = sample_trace()
    root = trace["spans"][0]
    chain = [{"id": i, "parent_id": i - 1, "kind": "view", "name": f"level {i}", "start_ns": i, "duration_ns": 1,
              "attrs": {}} for i in range(1, 20000)]
    trace["spans"] = [root, *chain]
    trace["summary"]["duplicate_groups"] = trace["summary"]["similar_groups"] = []
    context, page, errors = open_dashboard(browser, demo_server)
    try:
        open_file(page, "deep.json", json.dumps(trace))
        page.wait_for_selector("[data-testid=trace-view][data-state=done]", timeout=10000)
        text = page.locator("[data-testid=trace-cut-notice]").inner_text()
        assert "19,744 spans nested deeper than 256 levels are not shown" in text
    finally:
        context.close()
    assert errors == []


def test_a_deeply_nested_attribute_is_shown_truncated(browser, demo_server, artifacts):
    depth = 10000
    # 10,000 levels of arrays: JSON.parse reads it, JSON.stringify throws on it.
    deep = "[" * depth + "]" * depth
    text = json.dumps(sample_trace()).replace('"attrs": {"class"', f'"attrs": {{"deep": {deep}, "class"', 1)
    assert "[[[[" in text
    context, page, errors = open_dashboard(browser, demo_server)
    try:
        open_file(page, "nested.json", text)
        page.wait_for_selector("[data-testid=trace-view][data-state=done]", timeout=10000)
        page.locator("[data-testid=waterfall-row][data-span-id='1']").click()
        attrs = page.locator("[data-testid=span-attrs]")
        attrs.wait_for(timeout=5000)
        shown = attrs.inner_text()
        assert "deep" in shown and "[…]" in shown
        assert page.locator("[data-testid=span-detail]").is_visible()
        page.screenshot(path=str(artifacts / "nested-attribute.png"))
    finally:
        context.close()
    assert errors == []


def test_a_file_that_is_not_a_trace_gives_a_clear_error(browser, demo_server):
    context, page, errors = open_dashboard(browser, demo_server)
    try:
        open_file(page, "junk.json", "[" * 100000)
        banner = page.locator("[data-testid=error-banner]")
        banner.wait_for(timeout=5000)
        assert "Could not open junk.json: not valid JSON" in banner.inner_text()
    finally:
        context.close()
    assert errors == []
