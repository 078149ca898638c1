"""An outbound HTTP call in Chromium: the demo's /outbound/ page fetches the site's own API over HTTP."""

from __future__ import annotations

import pytest

from tests.browser.test_dashboard import click_row, page, request_row, wait_row  # noqa: F401 (the page fixture)

pytestmark = pytest.mark.browser


def test_an_outbound_call_is_a_span_with_its_url_status_and_line(page, demo_server, artifacts):  # noqa: F811
    state = request_row(page, demo_server, "/outbound/")
    # The API request the view made is a trace of its own, listed too.
    assert wait_row(page, "/api/books/")["status"] == "200"
    click_row(page, state["id"])
    page.wait_for_selector("[data-testid=trace-view][data-state=done]", timeout=10000)
    row = page.locator("[data-testid=waterfall-row][data-kind=http_out]")
    row.wait_for(timeout=5000)
    assert "GET 127.0.0.1" in row.inner_text()
    assert row.locator(".kind-icon").inner_text() == "H"
    row.click()
    detail = page.locator("[data-testid=span-detail]")
    detail.wait_for(timeout=5000)
    text = detail.inner_text()
    assert f"http://127.0.0.1:{demo_server.port}/api/books/?limit=3" in text
    assert "200" in text and "urllib" in text
    # The line that made the call.
    assert "demo_site/shop/views.py" in detail.locator("[data-testid=stack]").inner_text()
    assert "_fetch_titles" in detail.locator("[data-testid=stack]").inner_text()
    page.screenshot(path=str(artifacts / "outbound.png"), full_page=True)
