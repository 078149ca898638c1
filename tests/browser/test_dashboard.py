"""The real dashboard in Chromium, against the demo site served by daphne."""

from __future__ import annotations

import json
import threading

import pytest

from tests.browser.conftest import open_dashboard

pytestmark = pytest.mark.browser

BOOKS = 20  # seed_demo's books: the N+1 page runs one author query per book


@pytest.fixture
def page(browser, demo_server):
    context, page, errors = open_dashboard(browser, demo_server)
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the dashboard: {errors}"


# The row of a trace id, or else the newest row for a path, as seen by the page: (trace id, status,
# queries, running) or null.
ROW_STATE = """([path, id]) => {
  const row = [...document.querySelectorAll('[data-testid=request-row]')]
    .find(r => id ? r.dataset.traceId === id : r.querySelector('.row-path')?.textContent === path);
  return row ? {id: row.dataset.traceId, status: row.dataset.status, queries: row.dataset.queries,
                running: row.dataset.running === 'true'} : null;
}"""


def wait_row(page, path: str, *, running: bool | None = False, timeout: int = 10000) -> dict:
    check = "s && !s.running" if running is False else ("s && s.running" if running else "s")
    page.wait_for_function(f"(p) => {{ const s = ({ROW_STATE})(p); return {check}; }}", arg=[path, None],
                           timeout=timeout)
    return page.evaluate(ROW_STATE, [path, None])


def request_row(page, demo_server, path: str) -> dict:
    """Requests ``path`` and waits for that request's own row, finished. A fresh page also lists the
    module's earlier requests (the backlog): the newest row for the path may be an older one for a moment."""
    before = set(demo_server.trace_ids(path))
    assert demo_server.get(path) == 200
    new = [i for i in demo_server.trace_ids(path) if i not in before]
    assert len(new) == 1, f"the server recorded {len(new)} new traces for {path}"
    page.wait_for_selector(f'[data-testid=request-row][data-trace-id="{new[0]}"][data-running=false]',
                           timeout=10000)
    return page.evaluate(ROW_STATE, [path, new[0]])


def click_row(page, trace_id: str) -> None:
    page.locator(f'[data-testid=request-row][data-trace-id="{trace_id}"]').click()


def test_requests_appear_live_with_their_query_counts(page, demo_server, artifacts):
    expected = {"/books/": 1 + BOOKS, "/books/fixed/": 2, "/api/books/": 1}
    for path, queries in expected.items():
        state = request_row(page, demo_server, path)
        assert (state["status"], state["queries"]) == ("200", str(queries)), path
    # Newest on top.
    paths = page.locator("[data-testid=request-row] .row-path").evaluate_all("els => els.map(e => e.textContent)")
    assert paths.index("/api/books/") < paths.index("/books/")
    page.screenshot(path=str(artifacts / "live-list.png"))


def test_slow_request_shows_as_running_then_completes(page, demo_server, artifacts):
    worker = threading.Thread(target=demo_server.get, args=("/slow/?ms=2500",))
    worker.start()
    try:
        running = wait_row(page, "/slow/", running=True, timeout=5000)
        page.screenshot(path=str(artifacts / "running.png"))
    finally:
        worker.join()
    done = wait_row(page, "/slow/")
    assert done["id"] == running["id"] and done["status"] == "200"


def test_open_trace_shows_the_n_plus_one_group(page, demo_server, artifacts):
    state = request_row(page, demo_server, "/books/")
    click_row(page, state["id"])
    page.wait_for_selector("[data-testid=trace-view][data-state=done]", timeout=10000)
    group = page.locator("[data-testid=n-plus-one-group]").first
    group.wait_for(timeout=5000)
    assert group.get_attribute("data-count") == str(BOOKS)
    assert "shop_author" in group.inner_text()
    sql_rows = page.locator("[data-testid=waterfall-row][data-kind=sql]")
    assert sql_rows.count() >= 1
    sql_rows.first.click()
    detail = page.locator("[data-testid=span-detail]")
    detail.wait_for(timeout=5000)
    assert "SELECT" in detail.inner_text()
    page.screenshot(path=str(artifacts / "n-plus-one.png"), full_page=True)


@pytest.fixture
def fresh_page(browser, demo_server):
    """A page not yet pointed at the dashboard (for routing the websocket first)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the dashboard: {errors}"


def test_fresh_page_warms_up_out_of_sight_and_leaves_nothing(fresh_page, demo_server):
    """The page shows a sample trace hidden once after loading (views/warm-up.ts), to pay its first-use
    costs before a real trace is opened: the user never sees it, and it leaves nothing behind."""
    page = fresh_page
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.goto(demo_server.url + "/__lifecycle__/")
    page.wait_for_selector("[data-testid=connection-state][data-state=live]", timeout=15000)
    page.wait_for_selector("#lifecycle-app[data-warm-up=done]", state="attached", timeout=5000)
    assert page.locator(".warm-up").count() == 0
    assert page.locator("[data-testid=trace-view]").count() == 1
    assert page.locator("[data-testid=waterfall-row]").count() == 0
    assert page.locator("[data-testid=trace-view]").get_attribute("data-state") == "empty"
    assert page.get_by_text("Select a request to see its trace.").is_visible()
    assert [line for line in console if "lifecycle" in line] == []


@pytest.mark.parametrize(("code", "problem", "text"), [
    (4403, "forbidden", "You are not allowed to see this dashboard: DEBUG must be on and your IP in "
                        "INTERNAL_IPS, or sign in as staff (LIFECYCLE['ACCESS_CALLBACK'])"),
    (4400, "cross-origin", "is not the dashboard's own origin (the scheme, host and port of its websocket) nor one "
                           'of LIFECYCLE["ALLOWED_ORIGINS"]'),
], ids=["4403", "4400"])
def test_refused_socket_explains_and_stops_retrying(fresh_page, demo_server, artifacts, code, problem, text):
    page = fresh_page
    attempts: list[str] = []
    refuse = {"on": True}

    def handler(ws):
        attempts.append(ws.url)
        if refuse["on"]:
            ws.close(code=code, reason="refused by the test")
        else:
            ws.connect_to_server()

    page.route_web_socket("**/__lifecycle__/ws/", handler)
    page.goto(demo_server.url + "/__lifecycle__/")
    banner = page.locator(f"[data-testid=connection-banner][data-problem={problem}]")
    banner.wait_for(timeout=10000)
    assert text in banner.inner_text()
    assert "ALLOWED_HOSTS" not in banner.inner_text()
    assert page.locator("[data-testid=connection-state]").get_attribute("data-state") == "refused"
    page.screenshot(path=str(artifacts / f"refused-{code}.png"))
    page.wait_for_timeout(2500)  # longer than the first backoff steps: no retry by itself
    assert len(attempts) == 1
    refuse["on"] = False
    page.locator("[data-testid=connection-retry]").click()
    page.wait_for_selector("[data-testid=connection-state][data-state=live]", timeout=10000)
    assert len(attempts) == 2
    assert page.locator("[data-testid=connection-banner]").is_hidden()


def test_socket_that_never_opens_hints_at_the_asgi_routing(fresh_page, demo_server, artifacts):
    page = fresh_page

    def no_route(route):
        # The page as served, but pointing the websocket at a path the ASGI router does not know.
        response = route.fetch()
        body = response.text().replace('"wsUrl": "/__lifecycle__/ws/"', '"wsUrl": "/__lifecycle__/no-such-ws/"')
        assert "no-such-ws" in body
        route.fulfill(response=response, body=body)

    page.route("**/__lifecycle__/", no_route)
    page.goto(demo_server.url + "/__lifecycle__/")
    banner = page.locator("[data-testid=connection-banner][data-problem=unreachable]")
    banner.wait_for(timeout=10000)
    text = banner.inner_text()
    assert "lifecycle.routing.websocket_urlpatterns" in text and "daphne" in text
    # Still retrying, with backoff.
    page.wait_for_function(
        "() => /Retrying in \\d+ s/.test(document.querySelector('[data-testid=connection-banner]').textContent)",
        timeout=10000)
    state = page.locator("[data-testid=connection-state]").get_attribute("data-state")
    assert state in ("reconnecting", "disconnected")
    page.screenshot(path=str(artifacts / "never-opened.png"))


def test_span_names_are_readable_and_the_column_resizes(page, demo_server, artifacts):
    state = request_row(page, demo_server, "/books/")
    row = page.locator(f'[data-testid=request-row][data-trace-id="{state["id"]}"]')
    assert row.get_attribute("data-path") == "/books/"
    click_row(page, state["id"])
    page.wait_for_selector("[data-testid=trace-view][data-state=done]", timeout=10000)

    def name_width() -> float:
        return page.locator("[data-testid=waterfall-row] .wf-cell").first.bounding_box()["width"]

    trace_width = page.locator("[data-testid=waterfall]").bounding_box()["width"]
    width = name_width()
    assert width >= 260 and abs(width - 0.4 * trace_width) < 0.05 * trace_width, (width, trace_width)

    middleware = page.locator("[data-testid=waterfall-row][data-kind=middleware]").first
    assert middleware.get_attribute("title").startswith("django.middleware.security.SecurityMiddleware\n")
    sql = page.locator("[data-testid=waterfall-row][data-kind=sql]").first
    assert sql.locator(".wf-name").inner_text().startswith('SELECT … FROM "shop_book"')
    assert sql.get_attribute("title").startswith('SELECT "shop_book"."id", "shop_book"."title"')

    # Drag the column's edge 150 px to the right; the width is kept for the next page load.
    handle = page.locator("[data-testid=waterfall-resizer]").bounding_box()
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + 40
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 75, y, steps=3)
    page.mouse.move(x + 150, y, steps=3)
    page.mouse.up()
    assert abs(name_width() - (width + 150)) <= 2
    assert page.locator("[data-testid=waterfall-row][data-kind=middleware] .wf-name").first.evaluate(
        "el => el.scrollWidth <= el.clientWidth")  # the whole name fits now
    page.screenshot(path=str(artifacts / "wide-names.png"))
    page.reload()
    page.wait_for_selector("[data-testid=trace-view][data-state=done]", timeout=10000)
    assert abs(name_width() - (width + 150)) <= 2
    # Double-click goes back to the default.
    page.locator("[data-testid=waterfall-resizer]").dblclick()
    assert abs(name_width() - width) <= 2


def test_n_plus_one_queries_fold_into_one_row(page, demo_server, artifacts):
    state = request_row(page, demo_server, "/books/")
    click_row(page, state["id"])
    page.wait_for_selector("[data-testid=trace-view][data-state=done]", timeout=10000)
    folded = page.locator("[data-testid=waterfall-row][data-kind=sql-group]")
    assert folded.count() == 1
    assert folded.get_attribute("data-count") == str(BOOKS)
    assert folded.get_attribute("aria-expanded") == "false"
    assert folded.locator(".wf-name").inner_text().startswith('SELECT … FROM "shop_author"')
    assert folded.locator(".wf-count").inner_text().startswith(f"×{BOOKS} · ")
    members = page.locator("[data-testid=waterfall-row][data-kind=sql]")
    assert members.count() == 1  # the book query; the author queries are folded
    page.screenshot(path=str(artifacts / "folded.png"))

    # The N+1 banner opens the group and highlights its queries.
    page.locator("[data-testid=n-plus-one-group]").first.click()
    assert folded.get_attribute("aria-expanded") == "true"
    # Rows are virtualized: the open group's queries are there as far as the view reaches.
    page.wait_for_function("() => document.querySelectorAll('.wf-row.highlighted[data-kind=sql]').length >= 10")
    assert members.count() > 10
    page.screenshot(path=str(artifacts / "opened.png"))
    # Clicking the group row folds it again.
    folded.click()
    assert folded.get_attribute("aria-expanded") == "false"
    assert members.count() == 1


def test_selected_row_stays_put_while_requests_arrive(page, demo_server, artifacts):
    count = page.locator("[data-testid=request-count]")
    newest = request_row(page, demo_server, "/api/books/")["id"]
    assert count.get_attribute("data-newest-id") == newest
    # The backlog came before this request's events on the socket: it is all counted by now.
    before = int(count.get_attribute("data-total") or 0)
    row = page.locator(f'[data-testid=request-row][data-trace-id="{newest}"]')
    assert row.get_attribute("data-path") == "/api/books/"
    click_row(page, newest)
    page.wait_for_selector(f"[data-testid=trace-view][data-state=done][data-trace-id='{newest}']", timeout=10000)
    top = row.bounding_box()["y"]
    # More rows than the list shows: the selected one would be pushed below the fold without anchoring.
    for _ in range(25):
        assert demo_server.get("/books/fixed/") == 200
    page.wait_for_function(
        "(n) => Number(document.querySelector('[data-testid=request-count]').dataset.total) >= n", arg=before + 25,
        timeout=15000)
    page.wait_for_timeout(300)
    assert abs(row.bounding_box()["y"] - top) < 1
    assert row.get_attribute("class").split().count("selected") == 1
    newer = page.locator("[data-testid=new-above]")
    # The pointer is still over the list (it clicked the row): the new rows wait above, counted.
    assert newer.is_visible() and newer.inner_text() == "25 new ↑"
    page.screenshot(path=str(artifacts / "anchored.png"))
    newer.click()
    assert page.locator("[data-testid=request-row]").first.get_attribute("data-path") == "/books/fixed/"


def test_the_dashboard_acknowledges_every_frame_and_misses_nothing(fresh_page, demo_server):
    """Protocol 2 flow control: each ``backlog`` / ``events`` frame carries a ``seq`` the page acknowledges
    once applied (else the server stops after ``window`` frames and counts the rest as missed)."""
    page = fresh_page
    received: list[dict] = []
    sent: list[dict] = []

    def on_socket(ws):
        ws.on("framereceived", lambda payload: received.append(json.loads(payload)))
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)))

    page.on("websocket", on_socket)
    page.goto(demo_server.url + "/__lifecycle__/")
    page.wait_for_selector("[data-testid=connection-state][data-state=live]", timeout=15000)
    # More batches than the server's window (8) of unacknowledged frames.
    for _ in range(12):
        request_row(page, demo_server, "/api/books/")
    seqs = [f["seq"] for f in received if f.get("type") in ("backlog", "events") and "seq" in f]
    assert len(seqs) > 8
    page.wait_for_function("() => true")  # let the last frame's ack go out
    page.wait_for_timeout(500)
    acked = [f["seq"] for f in sent if f.get("type") == "ack"]
    assert acked and max(acked) == max(seqs), (seqs, acked)
    assert set(seqs) <= set(acked)
    assert all(f.get("missed_events", 0) == 0 for f in received if f.get("type") == "events")
    assert page.locator("[data-testid=missed-events]").is_hidden()
    assert page.locator("[data-testid=connection-state]").inner_text() == "live"


@pytest.mark.parametrize(("code", "problem", "text", "retries"), [
    (4403, "revoked", "Access revoked: log in again.", False),
    (4429, "flood", "too many commands (code 4429", True),
], ids=["4403-revoked", "4429"])
def test_a_connected_socket_closed_by_the_server_says_why(fresh_page, demo_server, artifacts, code, problem, text,
                                                         retries):
    """Closed after hello and backlog (the server's access re-check, or its rate limit): 4403 says the access
    was revoked and does not reconnect by itself; 4429 says why and reconnects, after a long backoff step."""
    page = fresh_page
    routes: list = []

    def handler(ws):
        routes.append(ws)
        ws.connect_to_server()  # frames pass through both ways

    page.route_web_socket("**/__lifecycle__/ws/", handler)
    page.goto(demo_server.url + "/__lifecycle__/")
    page.wait_for_selector("[data-testid=connection-state][data-state=live]", timeout=15000)
    page.wait_for_selector("[data-testid=request-count]", timeout=5000)
    routes[0].close(code=code, reason="closed by the test")
    banner = page.locator(f"[data-testid=connection-banner][data-problem={problem}]")
    banner.wait_for(timeout=5000)
    assert text in banner.inner_text()
    page.screenshot(path=str(artifacts / f"closed-{code}.png"))
    page.wait_for_timeout(2500)  # longer than the first backoff steps
    assert len(routes) == 1
    if retries:
        page.wait_for_selector("[data-testid=connection-state][data-state=live]", timeout=10000)
        assert len(routes) == 2
    else:
        assert page.locator("[data-testid=connection-state]").get_attribute("data-state") == "refused"
