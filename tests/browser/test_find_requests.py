"""Finding a request in Chromium: the list holds still under the pointer while requests arrive (they
wait behind "N new ↑"), filters on what rows carry and report what they do not understand, Clear, and
the response body in the request's detail."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import DemoServer, open_dashboard

pytestmark = pytest.mark.browser

COUNT = "[data-testid=request-count]"


@pytest.fixture
def page(browser, demo_server):
    context, page, errors = open_dashboard(browser, demo_server)
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the dashboard: {errors}"


def new_trace(page, demo_server, path: str) -> str:
    """Requests ``path``; the id of its trace, once the page lists it finished."""
    before = set(demo_server.trace_ids(path.split("?")[0]))
    assert demo_server.get(path) == 200
    new = [i for i in demo_server.trace_ids(path.split("?")[0]) if i not in before]
    assert len(new) == 1
    page.wait_for_selector(f'[data-testid=request-row][data-trace-id="{new[0]}"][data-running=false]', timeout=10000)
    return new[0]


def row(page, trace_id: str):
    return page.locator(f'[data-testid=request-row][data-trace-id="{trace_id}"]')


def wait_total(page, at_least: int) -> None:
    page.wait_for_function(f"(n) => Number(document.querySelector('{COUNT}').dataset.total) >= n",
                           arg=at_least, timeout=15000)


def test_the_row_under_the_pointer_stays_while_requests_arrive(page, demo_server, artifacts):
    newest = new_trace(page, demo_server, "/books/fixed/?page=2")
    hovered = row(page, newest)
    assert hovered.locator(".row-query").inner_text() == "?page=2"
    assert hovered.locator(".row-when").inner_text().count(":") == 2
    hovered.hover()
    top = hovered.bounding_box()["y"]
    before = int(page.locator(COUNT).get_attribute("data-total"))
    for _ in range(3):
        assert demo_server.get("/api/books/") == 200
    wait_total(page, before + 3)
    page.wait_for_timeout(300)
    # Nothing moved: the hovered row is still the first one, where it was.
    assert hovered.bounding_box()["y"] == top
    assert page.locator("[data-testid=request-row]").first.get_attribute("data-trace-id") == newest
    waiting = page.locator("[data-testid=new-above]")
    assert waiting.is_visible()
    assert waiting.get_attribute("data-waiting") == "3"
    assert waiting.inner_text() == "3 new ↑"
    page.screenshot(path=str(artifacts / "waiting.png"))
    waiting.click()
    assert page.locator("[data-testid=request-row]").first.get_attribute("data-path") == "/api/books/"
    assert not waiting.is_visible()
    # Once the pointer has left a list scrolled to the top, new rows come in at the top again.
    page.mouse.move(1300, 880)
    shown = page.locator(COUNT).get_attribute("data-total")
    latest = new_trace(page, demo_server, "/books/")
    assert int(page.locator(COUNT).get_attribute("data-total")) > int(shown)
    assert page.locator("[data-testid=request-row]").first.get_attribute("data-trace-id") == latest


def test_filters_find_rows_and_report_terms_they_do_not_understand(page, demo_server, artifacts):
    books = new_trace(page, demo_server, "/books/")
    api = new_trace(page, demo_server, "/api/books/")
    box = page.locator("[data-testid=filter-input]")
    box.fill("template:book_list.html sql:shop_author")
    page.wait_for_function("() => document.querySelector('[data-testid=request-count]').textContent.includes(' of ')")
    assert row(page, books).is_visible()
    assert row(page, api).count() == 0
    box.fill("view:api_books colour:red")
    report = page.locator("[data-testid=filter-errors]")
    report.wait_for(state="visible", timeout=5000)
    assert "colour: unknown key" in report.inner_text()
    assert row(page, api).is_visible() and row(page, books).count() == 0
    page.screenshot(path=str(artifacts / "filter-report.png"))
    box.fill("status:2xx since:10m")
    report.wait_for(state="hidden", timeout=5000)


def test_the_request_detail_shows_the_response_headers_and_body(page, demo_server, artifacts):
    api = new_trace(page, demo_server, "/api/books/")
    row(page, api).click()
    page.wait_for_selector(f"[data-testid=trace-view][data-state=done][data-trace-id='{api}']", timeout=10000)
    page.locator('[data-testid=waterfall-row][data-span-id="0"]').click()
    body = page.locator("[data-testid=response-body]")
    body.wait_for(timeout=5000)
    books = json.loads(body.inner_text())
    assert isinstance(books, (list, dict)) and books
    assert "application/json" in page.locator("[data-testid=response-headers]").inner_text()
    page.screenshot(path=str(artifacts / "response-body.png"))
    # An HTML page's body is not kept, and the detail says why.
    html = new_trace(page, demo_server, "/books/")
    row(page, html).click()
    page.wait_for_selector(f"[data-testid=trace-view][data-state=done][data-trace-id='{html}']", timeout=10000)
    page.locator('[data-testid=waterfall-row][data-span-id="0"]').click()
    assert page.locator("[data-testid=response-body-omitted]").inner_text() == "Not kept: HTML"


def test_clear_empties_the_list_and_explains_a_refusal(page, demo_server):
    new_trace(page, demo_server, "/api/books/")
    posted: list[dict] = []

    def refuse(route):
        posted.append({"method": route.request.method, "headers": route.request.headers})
        route.fulfill(status=403, content_type="text/html", body="<h1>Forbidden (CSRF token missing.)</h1>")

    # Whatever the server answers, the refusal is this test's own: the page must explain it.
    page.route("**/__lifecycle__/api/traces/clear/", refuse)
    page.locator("[data-testid=clear-button]").click()
    page.wait_for_selector("[data-testid=empty-state]:not([hidden])", timeout=5000)
    assert page.locator("[data-testid=request-row]").count() == 0
    banner = page.locator("[data-testid=error-banner]")
    banner.wait_for(timeout=5000)
    assert "refused to clear its traces" in banner.inner_text()
    assert posted[0]["method"] == "POST" and "x-csrftoken" in posted[0]["headers"]


@pytest.fixture
def own_server(tmp_path):
    """A demo server of this test's own: clearing its traces must not empty the list other tests read."""
    server = DemoServer(tmp_path).start()
    yield server
    server.stop()


def test_clear_forgets_the_traces_on_the_server_too(browser, own_server):
    assert own_server.get("/books/fixed/") == 200
    (old,) = own_server.trace_ids("/books/fixed/")
    context, page, errors = open_dashboard(browser, own_server)
    try:
        row(page, old).wait_for(timeout=10000)

        page.locator("[data-testid=clear-button]").click()
        page.wait_for_selector("[data-testid=empty-state]:not([hidden])", timeout=5000)
        # The server forgot it too: not in the API's list, not in the backlog of a page opened afresh.
        for _ in range(50):
            if not own_server.trace_ids("/books/fixed/"):
                break
            page.wait_for_timeout(100)
        assert own_server.trace_ids("/books/fixed/") == []
        assert not page.locator("[data-testid=error-banner]").is_visible()
        page.reload()
        page.wait_for_selector("[data-testid=connection-state][data-state=live]", timeout=15000)
        assert own_server.get("/api/books/") == 200
        (new,) = own_server.trace_ids("/api/books/")
        row(page, new).wait_for(timeout=10000)
        assert row(page, old).count() == 0
    finally:
        context.close()
    assert errors == [], f"JavaScript errors on the dashboard: {errors}"
