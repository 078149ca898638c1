"""The dashboard where the server has no live events (LIFECYCLE["CHANNEL_LAYER"] None, as without
Channels), and the page's own text when its static files are not served."""

from __future__ import annotations

import json
import time

import pytest

from tests.browser.conftest import DemoServer

pytestmark = pytest.mark.browser

POLL_S = 5  # frontend/src/list-poller.ts POLL_INTERVAL_MS


@pytest.fixture(scope="module")
def no_live_server(tmp_path_factory):
    env = {"DJANGO_SETTINGS_MODULE": "tests.browser.limits_settings",
           "LIFECYCLE_TEST_LIMITS": json.dumps({"CHANNEL_LAYER": None})}
    server = DemoServer(tmp_path_factory.mktemp("no-live"), env=env).start()
    yield server
    server.stop()


def open_page(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


def test_without_live_events_the_list_is_polled_and_no_websocket_is_opened(browser, no_live_server, artifacts):
    context, page, errors = open_page(browser, no_live_server.url)
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    try:
        assert no_live_server.get("/books/fixed/") == 200  # recorded before the page loads
        page.goto(no_live_server.url + "/__lifecycle__/")
        page.wait_for_selector("[data-testid=connection-state][data-state=off]", timeout=15000)
        page.wait_for_selector('[data-testid=request-row] >> text="/books/fixed/"', timeout=5000)
        note = page.locator("[data-testid=live-off-note]")
        assert note.is_visible()
        assert f"the list refreshes every {POLL_S} s" in note.inner_text()
        assert not page.locator("[data-testid=connection-banner]").is_visible()
        assert not page.locator("[data-testid=error-banner]").is_visible()

        # A request made after the page loaded is listed within the refresh interval.
        assert no_live_server.get("/api/books/") == 200
        (new,) = no_live_server.trace_ids("/api/books/")
        started = time.monotonic()
        page.wait_for_selector(f'[data-testid=request-row][data-trace-id="{new}"]', timeout=(POLL_S + 3) * 1000)
        assert time.monotonic() - started < POLL_S + 3

        # The Refresh button reads it at once; opening a trace works over HTTP.
        assert no_live_server.get("/books/") == 200
        (books,) = no_live_server.trace_ids("/books/")
        page.locator("[data-testid=refresh-button]").click()
        page.wait_for_selector(f'[data-testid=request-row][data-trace-id="{books}"]', timeout=2000)
        page.locator(f'[data-testid=request-row][data-trace-id="{books}"]').click()
        page.wait_for_selector("[data-testid=waterfall-row]", timeout=5000)
        page.screenshot(path=str(artifacts / "live-off.png"))
        assert sockets == []
        assert errors == [], f"JavaScript errors on the dashboard: {errors}"
    finally:
        context.close()
    log = no_live_server.log.read_text()
    assert "/__lifecycle__/ws/" not in log


def test_the_page_says_why_it_is_blank_when_its_script_is_not_served(browser, demo_server):
    context, page, _errors = open_page(browser, demo_server.url)
    try:
        page.route("**/lifecycle/dashboard.js", lambda route: route.fulfill(status=404, body="not found"))
        page.goto(demo_server.url + "/__lifecycle__/")
        fallback = page.locator("[data-testid=loading-fallback]")
        fallback.wait_for(state="visible", timeout=5000)
        assert "its static files (lifecycle/dashboard.js) are not being served" in fallback.inner_text()
    finally:
        context.close()


def test_the_fallback_text_is_gone_once_the_app_mounts(browser, demo_server):
    context, page, errors = open_page(browser, demo_server.url)
    try:
        page.goto(demo_server.url + "/__lifecycle__/")
        page.wait_for_selector("[data-testid=connection-state][data-state=live]", timeout=15000)
        assert page.locator("[data-testid=loading-fallback]").count() == 0
        assert errors == []
    finally:
        context.close()


def test_a_websocket_that_never_opens_is_retried_slowly_and_the_list_polled(browser, demo_server, artifacts):
    context, page, errors = open_page(browser, demo_server.url)
    sockets: list[float] = []
    page.on("websocket", lambda ws: sockets.append(time.monotonic()))

    def no_route(route):
        # The page as served, but pointing the websocket at a path the ASGI router does not know (a 404).
        response = route.fetch()
        body = response.text().replace('"wsUrl": "/__lifecycle__/ws/"', '"wsUrl": "/__lifecycle__/no-such-ws/"')
        assert "no-such-ws" in body
        route.fulfill(response=response, body=body)

    try:
        assert demo_server.get("/books/fixed/") == 200
        (listed,) = demo_server.trace_ids("/books/fixed/")[:1]
        page.route("**/__lifecycle__/", no_route)
        started = time.monotonic()
        page.goto(demo_server.url + "/__lifecycle__/")
        # Listed from the API after the first failures, though no socket ever opened.
        page.wait_for_selector(f'[data-testid=request-row][data-trace-id="{listed}"]', timeout=15000)
        banner = page.locator("[data-testid=connection-banner][data-problem=unreachable]")
        banner.wait_for(timeout=5000)
        text = banner.inner_text()
        assert "lifecycle.routing.websocket_urlpatterns" in text
        assert f"Meanwhile the list is read over HTTP every {POLL_S} s." in text
        page.wait_for_timeout(max(0, 20_000 - (time.monotonic() - started) * 1000))
        page.screenshot(path=str(artifacts / "never-opened-polling.png"))
        assert len(sockets) <= 6, f"{len(sockets)} websocket attempts in 20 s"
        assert errors == []
    finally:
        context.close()
