"""The demo's live counter (a Channels consumer traced by lifecycle.channels.traced) in the real dashboard:
its connect, click and disconnect appear as WS rows, open as a waterfall, and the filter separates them."""

from __future__ import annotations

import pytest

from tests.browser.test_dashboard import click_row, page  # noqa: F401 (the page fixture)

pytestmark = pytest.mark.browser

WS_ROW = "[data-testid=request-row][data-kind=websocket][data-running=false]"
# Rows of a kind on screen: none left, or some.
NONE_OF = "() => document.querySelectorAll('[data-testid=request-row][data-kind={}]').length === 0"
SOME_OF = "() => document.querySelectorAll('[data-testid=request-row][data-kind={}]').length > 0"


def ws_row(page, name: str) -> dict:  # noqa: F811
    """The newest finished websocket row named ``name`` ("receive /ws/counter/"), once the page lists it."""
    script = """(name) => {
      const row = [...document.querySelectorAll('WS_ROW')].find(r => r.querySelector('.row-path').textContent === name);
      return row ? {id: row.dataset.traceId, method: row.querySelector('.method').textContent} : null;
    }""".replace("WS_ROW", WS_ROW)
    page.wait_for_function(f"(n) => ({script})(n)", arg=name, timeout=15000)
    return page.evaluate(script, name)


def shown_kinds(page) -> list[str]:  # noqa: F811
    return page.locator("[data-testid=request-row]").evaluate_all("els => els.map(e => e.dataset.kind)")


def test_consumer_events_are_listed_opened_and_filtered(page, demo_server, artifacts):  # noqa: F811
    assert demo_server.get("/") == 200  # a request row beside the websocket ones
    live = page.context.new_page()
    live.goto(demo_server.url + "/live/")
    live.wait_for_selector("[data-testid=counter-state]:text('connected')", timeout=15000)
    live.locator("[data-testid=counter-add]").click()
    live.wait_for_function("() => /^[1-9]/.test(document.querySelector('[data-testid=counter-value]').textContent)",
                           timeout=10000)

    connect = ws_row(page, "connect /ws/counter/")
    receive = ws_row(page, "receive /ws/counter/")
    assert connect["method"] == receive["method"] == "WS"

    # A click: the consumer span, the cache calls and the group_send to every open page.
    click_row(page, receive["id"])
    page.wait_for_selector("[data-testid=trace-view][data-state=done]", timeout=10000)
    root = page.locator("[data-testid=waterfall-row][data-kind=consumer]")
    assert "receive /ws/counter/" in root.first.inner_text()
    assert page.locator("[data-testid=waterfall-row][data-kind=cache]").count() >= 2
    channel = page.locator("[data-testid=waterfall-row][data-kind=channel]")
    assert channel.count() == 1 and "group_send demo-counter" in channel.inner_text()
    assert page.locator("[data-testid=ws-event]").inner_text() == "receive"
    assert page.locator("[data-testid=chip-websocket]").inner_text().endswith("receive")
    page.screenshot(path=str(artifacts / "receive-waterfall.png"), full_page=True)

    # The connect: the query counting the books.
    click_row(page, connect["id"])
    page.wait_for_selector("[data-testid=trace-view][data-state=done]", timeout=10000)
    page.locator("[data-testid=waterfall-row][data-kind=sql]").first.wait_for(timeout=5000)

    # The pointer rests on the list since the click, so new rows would wait above it: move it away.
    page.mouse.move(700, 880)
    live.close()
    ws_row(page, "disconnect /ws/counter/")

    # The dashboard's own websocket is never traced, though the demo's router is wrapped.
    assert page.locator("[data-testid=request-row][data-path='/__lifecycle__/ws/']").count() == 0

    # The filter separates them, typed or through the chips.
    page.fill("[data-testid=filter-input]", "kind:websocket")
    page.wait_for_function(NONE_OF.format("request"))
    assert set(shown_kinds(page)) == {"websocket"}
    assert page.locator("[data-testid=kind-chip-websocket]").get_attribute("aria-pressed") == "true"
    page.locator("[data-testid=kind-chip-request]").click()
    page.wait_for_function(NONE_OF.format("websocket"))
    assert set(shown_kinds(page)) == {"request"}
    assert page.locator("[data-testid=filter-input]").input_value() == "kind:request"
    page.locator("[data-testid=kind-chip-all]").click()
    page.wait_for_function(SOME_OF.format("websocket"))
    assert {"request", "websocket"} <= set(shown_kinds(page))
    page.screenshot(path=str(artifacts / "list.png"), full_page=True)
