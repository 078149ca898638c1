"""A span kind the dashboard has no style of its own for is drawn as the server describes it."""

from __future__ import annotations

import pytest

from tests.browser.test_dashboard import click_row, page, request_row  # noqa: F401 (the page fixture)

pytestmark = pytest.mark.browser


def test_a_custom_span_is_drawn_with_its_kinds_colour_and_symbol(page, demo_server, artifacts):  # noqa: F811
    state = request_row(page, demo_server, "/async/")
    click_row(page, state["id"])
    page.wait_for_selector("[data-testid=trace-view][data-state=done]", timeout=10000)
    row = page.locator("[data-testid=waterfall-row][data-kind=custom]")
    row.wait_for(timeout=5000)
    assert "best rated books" in row.inner_text()
    icon = row.locator(".kind-icon")
    assert icon.inner_text() == "*"
    # lifecycle.kinds describes "custom" as #8e6bbf; the row's icon takes it from the trace's kinds.
    assert icon.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(142, 107, 191)"
    row.click()
    detail = page.locator("[data-testid=span-detail]")
    detail.wait_for(timeout=5000)
    assert "limit" in detail.inner_text()
    assert detail.locator(".kind-icon").evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(142, 107, 191)"
    page.screenshot(path=str(artifacts / "custom-kind.png"), full_page=True)
