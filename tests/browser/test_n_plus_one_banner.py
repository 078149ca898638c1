"""The N+1 banner in real Chromium names the template line that ran the repeated query (the demo's
/books/ page: one author query per book from shop/book_list.html), then the view's Python frame."""

from __future__ import annotations

import pytest

from tests.browser.test_dashboard import BOOKS, click_row, page, request_row  # noqa: F401 (the page fixture)

pytestmark = pytest.mark.browser


def test_the_n_plus_one_banner_shows_the_template_line(page, demo_server, artifacts):  # noqa: F811
    state = request_row(page, demo_server, "/books/")
    click_row(page, state["id"])
    page.wait_for_selector("[data-testid=trace-view][data-state=done]", timeout=10000)
    banner = page.locator("[data-testid=n-plus-one-banner]").first
    banner.wait_for(timeout=5000)
    assert banner.locator("[data-testid=n-plus-one-group]").get_attribute("data-count") == str(BOOKS)
    lines = banner.locator("[data-testid=call-chain] li")
    assert lines.first.get_attribute("data-kind") == "template"
    assert lines.first.inner_text() == "shop/book_list.html:21 {{ book.author.name }}"
    kinds = [lines.nth(i).get_attribute("data-kind") for i in range(lines.count())]
    assert kinds[-1] == "frame" and "template" not in kinds[kinds.index("frame"):]
    assert lines.nth(len(kinds) - 1).inner_text().startswith("demo_site/shop/views.py:")
    # Its queries' detail names the same line.
    banner.locator("[data-testid=n-plus-one-group]").click()
    detail = page.locator("[data-testid=span-detail] [data-testid=template-stack]")
    detail.wait_for(timeout=5000)
    assert "shop/book_list.html:21 {{ book.author.name }}" in detail.inner_text()
    assert page.locator("[data-testid=chip-self-time]").inner_text().startswith("Self time")
    page.screenshot(path=str(artifacts / "n-plus-one-banner.png"), full_page=True)
