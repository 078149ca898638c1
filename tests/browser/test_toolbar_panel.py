"""lifecycle's panel in the real django-debug-toolbar, in Chromium, on a page with a strict
Content-Security-Policy (no 'unsafe-inline'): the panel is the dashboard's waterfall for that request."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import DemoServer

pytestmark = pytest.mark.browser

# CSP violations, as the page reports them (also those inside the toolbar's shadow roots: the event is
# composed); the console says the same in its own words, which the test collects too.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
}, true);
"""

HOST_STYLE = """() => {
  const el = document.querySelector("[data-testid=host-element]");
  const s = getComputedStyle(el), b = getComputedStyle(document.body);
  return [s.position, s.height, s.color, s.display, s.fontFamily, b.background, b.fontFamily, b.margin].join(" | ");
}"""

# Whether the canvas has pixels of the color the CSS variable `name` holds (as #rrggbb) where it is drawn.
HAS_COLOR = """(canvas, name) => {
  const hex = getComputedStyle(canvas).getPropertyValue(name).trim();
  const want = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 0; i < data.length; i += 4) {
    if (want.every((v, k) => Math.abs(data[i + k] - v) <= 2)) return true;
  }
  return false;
}"""


# The toolbar's defaults: panels fetched when opened, the toolbar in a shadow root. Then panels rendered
# into the page with it (the panel's script loads with the page), with no shadow root.
TOOLBARS = {"fetched-in-shadow-root": {}, "rendered-in-page": {"RENDER_PANELS": True, "USE_SHADOW_DOM": False}}

# Whether the rows' name column and the bars' canvas meet, after the next frame is drawn.
NAME_COLUMN_AND_BARS = """(el) => new Promise((resolve) => requestAnimationFrame(() => {
  const name = el.querySelector(".waterfall").style.getPropertyValue("--wf-name-width");
  resolve(name !== "" && name === el.querySelector("canvas.wf-canvas").style.left);
}))"""


# True once the history panel's script answers a Refresh; presses Refresh otherwise (run while polling).
HISTORY_READY = """() => {
  const root = document.getElementById("djDebugRoot").shadowRoot;
  if (root.getElementById("djdtStatus").textContent !== "") return true;
  root.querySelector(".refreshHistory").click();
  return false;
}"""


@pytest.fixture(scope="module", params=list(TOOLBARS))
def toolbar_config(request) -> dict:
    return TOOLBARS[request.param]


@pytest.fixture(scope="module")
def toolbar_server(toolbar_config, tmp_path_factory):
    settings = {"DJANGO_SETTINGS_MODULE": "tests.browser.toolbar_settings",
                "LIFECYCLE_TEST_TOOLBAR_CONFIG": json.dumps(toolbar_config)}
    server = DemoServer(tmp_path_factory.mktemp("toolbar"), env=settings).start()
    yield server
    server.stop()


@pytest.fixture
def toolbar_page(browser, toolbar_server):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    errors: list[str] = []
    console: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: console.append(m.text) if m.type in ("error", "warning") else None)
    page.goto(toolbar_server.url + "/t/toolbar-page/")
    yield page
    violations = page.evaluate("window.__violations")
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"
    assert violations == [], f"Content-Security-Policy violations: {violations}"
    assert [m for m in console if "Content Security Policy" in m or "[lifecycle]" in m] == []


def open_panel(page):
    page.locator("#djDebugPanelList a.LifecyclePanel").click()
    panel = page.locator("[data-testid=lifecycle-panel]")
    panel.wait_for(timeout=10000)
    return panel


def test_the_panel_is_the_dashboards_waterfall_of_the_request(toolbar_page, artifacts):
    from playwright.sync_api import expect

    page = toolbar_page
    # Under the page's Content-Security-Policy, with no inline script: the toolbar still shows.
    page.wait_for_selector("#djDebugToolbar", timeout=10000)
    host_before = page.evaluate(HOST_STYLE)
    panel = open_panel(page)

    rows = panel.locator("[data-testid=waterfall-row]")
    sql = panel.locator("[data-testid=waterfall-row][data-kind=sql]")
    sql.first.wait_for(timeout=5000)
    assert sql.count() == 3
    assert all("SELECT" in text for text in sql.all_inner_texts())
    templates = panel.locator("[data-testid=waterfall-row][data-kind=template]").all_inner_texts()
    assert any("testapp/toolbar_page.html" in t for t in templates)
    assert any("testapp/_item.html" in t for t in templates)
    # The request is still running when the toolbar takes its snapshot: shown running, not as 0 ms.
    request = panel.locator("[data-testid=waterfall-row][data-kind=request]")
    assert request.get_attribute("data-running") == "true"
    assert "running" in panel.locator("[data-testid=chip-total]").inner_text()
    # The summary's self time per kind, as on the dashboard.
    self_time = panel.locator("[data-testid=chip-self-time]")
    assert "SQL" in self_time.inner_text() or "sql" in (self_time.get_attribute("title") or "")
    assert rows.count() > 5
    # The bars are drawn on the waterfall's canvas, in the kinds' colors of panel.css.
    box = panel.locator("canvas.wf-canvas").bounding_box()
    assert box and box["width"] > 200 and box["height"] > 50
    assert panel.locator("canvas.wf-canvas").evaluate(HAS_COLOR, "--kind-middleware")
    # The name column ends where the bars begin (it was laid out before the panel had its size).
    assert panel.evaluate(NAME_COLUMN_AND_BARS)

    # Below it, the table of kinds stays; the query groups the server wrote are the trace view's banners now.
    content = page.locator(".lifecycle-panel")
    expect(content.locator("table").first).to_be_visible()
    assert "self time (ms)" in content.locator("table").first.inner_text().lower()
    expect(content.get_by_text("N+1 queries")).to_be_hidden()
    expect(panel.locator("[data-testid=n-plus-one-banner]")).to_be_visible()

    # A click on a query row shows its detail: its SQL and where it ran.
    sql.nth(1).click()
    detail = panel.locator("[data-testid=span-detail][data-kind=sql]")
    detail.wait_for(timeout=5000)
    assert "SELECT" in detail.inner_text()
    assert "tests/testapp/views.py" in detail.locator("[data-testid=stack]").inner_text()
    assert sql.nth(1).get_attribute("aria-selected") == "true"

    # The panel's styles stay in the panel: the host page's elements look as before (one of them has the
    # dashboard's class names), and the waterfall is laid out by panel.css, not by the toolbar's reset.
    assert page.evaluate(HOST_STYLE) == host_before
    assert rows.first.evaluate("el => getComputedStyle(el).position") == "absolute"
    page.screenshot(path=str(artifacts / "toolbar-panel.png"))


def test_the_panel_shows_the_request_picked_in_the_toolbars_history(toolbar_page, toolbar_config):
    if toolbar_config.get("RENDER_PANELS"):
        pytest.skip("the toolbar has no history panel when it renders the panels into the page")
    page = toolbar_page
    toolbar = page.locator("#djDebug")
    first_request = toolbar.get_attribute("data-request-id")
    first_trace = open_panel(page).locator("[data-testid=trace-view]").get_attribute("data-trace-id")
    page.reload()
    page.wait_for_selector("#djDebugToolbar", timeout=10000)
    second = open_panel(page)
    assert second.locator("[data-testid=trace-view]").get_attribute("data-trace-id") != first_trace
    # panel.css came from the cache this time: the rows were laid out at once, before the panel was in
    # the page and had a size; they still end where the bars begin.
    assert second.evaluate(NAME_COLUMN_AND_BARS)

    # The history panel puts the first request's panels in place (their content loads when opened).
    # The toolbar loads the history panel's script (an async module) after it shows the panel, so its
    # click handlers come some time later. The test presses the panel's Refresh until the toolbar
    # answers in its status line: the handlers are there and the rows are rebuilt, so the Switch click
    # lands on the row it names.
    page.locator("#djDebugPanelList a.HistoryPanel").click()
    page.wait_for_function(HISTORY_READY, polling=300, timeout=15000)
    page.locator(f".switchHistory[data-request-id='{first_request}']").click()
    page.wait_for_function(
        "id => document.getElementById('djDebugRoot').shadowRoot.getElementById('djDebug').dataset.requestId === id",
        arg=first_request, timeout=10000)
    panel = open_panel(page)
    assert panel.locator("[data-testid=trace-view]").get_attribute("data-trace-id") == first_trace
    assert panel.locator("[data-testid=waterfall-row][data-kind=sql]").count() == 3


def test_the_panel_follows_the_toolbars_theme(toolbar_page, artifacts):
    from playwright.sync_api import expect

    page = toolbar_page
    page.wait_for_selector("#djDebugToolbar", timeout=10000)
    panel = open_panel(page)
    panel.locator("[data-testid=waterfall-row]").first.wait_for(timeout=5000)
    assert panel.evaluate(NAME_COLUMN_AND_BARS)
    toolbar = page.locator("#djDebug")
    theme = toolbar.get_attribute("data-theme")
    background = panel.evaluate("el => getComputedStyle(el).backgroundColor")
    page.locator("#djToggleThemeButton").click()
    expect(toolbar).not_to_have_attribute("data-theme", theme or "")
    expect(panel).not_to_have_css("background-color", background)
    assert panel.locator("canvas.wf-canvas").evaluate(HAS_COLOR, "--kind-middleware"), "bars in the new theme's colors"
    page.screenshot(path=str(artifacts / "toolbar-panel-theme.png"))
