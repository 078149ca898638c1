"""Compare two traces in real Chromium: the demo's N+1 page (/books/: one author query per book, from
shop/book_list.html:21) against its fix (/books/fixed/: select_related), picked from the list or opened
from a file."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.browser.test_dashboard import BOOKS, click_row, page, request_row  # noqa: F401 (the page fixture)

pytestmark = pytest.mark.browser

SITE = "shop/book_list.html:21 {{ book.author.name }}"


def open_trace(page, demo_server, path: str) -> dict:  # noqa: F811
    state = request_row(page, demo_server, path)
    click_row(page, state["id"])
    page.wait_for_selector(f"[data-testid=trace-view][data-state=done][data-trace-id='{state['id']}']", timeout=10000)
    return state


def trace_json(demo_server, trace_id: str) -> dict:
    with urllib.request.urlopen(f"{demo_server.url}/__lifecycle__/api/traces/{trace_id}/", timeout=10) as response:
        return json.load(response)


def first_query(page) -> dict:  # noqa: F811
    row = page.locator("[data-testid=compare-query]").first
    return {"change": row.get_attribute("data-change"), "delta": row.get_attribute("data-delta"),
            "sql": row.locator(".cmp-sql-text").inner_text(), "row": row}


def test_compare_the_n_plus_one_page_with_its_fix(page, demo_server, artifacts):  # noqa: F811
    fixed = request_row(page, demo_server, "/books/fixed/")
    books = open_trace(page, demo_server, "/books/")
    # From the keyboard: the button, the filter, the request, Enter.
    page.locator("[data-testid=compare-button]").focus()
    page.keyboard.press("Enter")
    dialog = page.locator("[data-testid=compare-view]")
    page.wait_for_selector("[data-testid=compare-view][data-state=pick]", timeout=5000)
    page.locator("[data-testid=compare-filter]").fill("fixed")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.dataset.traceId")
    assert focused == fixed["id"]
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=compare-view][data-state=done]", timeout=10000)
    assert "GET /books/" in dialog.locator("[data-testid=compare-side-a]").inner_text()
    assert "GET /books/fixed/" in dialog.locator("[data-testid=compare-side-b]").inner_text()
    assert f"Queries {1 + BOOKS} → 2 (−{BOOKS - 1})" in dialog.locator("[data-testid=compare-totals]").inner_text()

    # The author fingerprint is gone: -20, with the template line that ran it in A.
    top = first_query(page)
    assert (top["change"], top["delta"]) == ("gone", str(-BOOKS))
    assert "shop_author" in top["sql"]
    site = top["row"].locator("[data-testid=compare-sites-a] .cmp-site").first
    assert site.get_attribute("data-count") == str(BOOKS)
    assert site.locator("[data-testid=call-chain] li").first.inner_text() == SITE

    # Spans by path: the 20 author queries under the template, removed; the same template on both sides.
    span = page.locator("[data-testid=compare-span][data-kind=sql][data-change=removed]").first
    assert span.get_attribute("data-delta") == str(-BOOKS)
    deltas = page.locator("[data-testid=compare-span]").evaluate_all(
        "rows => rows.map(r => Math.abs(+r.dataset.delta))")
    assert deltas[0] == BOOKS and deltas == sorted(deltas, reverse=True)  # the largest change first
    assert "› shop/book_list.html\n› shop/base.html\n› " in span.locator(".cmp-path").get_attribute("title")
    sql_kind = page.locator("[data-testid=compare-kind][data-kind=sql]")
    assert sql_kind.locator("[data-testid=compare-kind-a]").inner_text().endswith(f"· {1 + BOOKS}")
    assert sql_kind.locator("[data-testid=compare-kind-b]").inner_text().endswith("· 2")
    page.screenshot(path=str(artifacts / "compare-n-plus-one-fix.png"), full_page=True)
    page.locator("[data-testid=compare-spans-section]").screenshot(path=str(artifacts / "compare-spans.png"))

    # The other way round, the author fingerprint is new in B, +20, from the same line.
    page.locator("[data-testid=compare-swap]").click()
    top = first_query(page)
    assert (top["change"], top["delta"]) == ("new", str(BOOKS))
    assert top["row"].locator("[data-testid=compare-sites-b] [data-testid=call-chain] li").first.inner_text() == SITE

    # Esc closes the dialog only: the trace stays open, focus back on the button.
    page.keyboard.press("Escape")
    page.wait_for_selector("[data-testid=compare-view][data-state=closed]", state="attached", timeout=5000)
    assert not dialog.is_visible()
    assert page.locator("[data-testid=trace-view]").get_attribute("data-trace-id") == books["id"]
    assert page.evaluate("document.activeElement.dataset.testid") == "compare-button"


def test_compare_with_a_file_and_a_hostile_one(page, demo_server, artifacts):  # noqa: F811
    books = request_row(page, demo_server, "/books/")
    saved = trace_json(demo_server, books["id"])
    # SQL text in a compare file is shown as text, never parsed as HTML.
    hostile_sql = '<img src=x onerror="window.pwned=1">SELECT 1'
    group = next(g for g in saved["summary"]["duplicate_groups"] if g["count"] == BOOKS)
    group["fingerprint"] = hostile_sql
    open_trace(page, demo_server, "/books/fixed/")
    page.locator("[data-testid=compare-button]").click()
    page.wait_for_selector("[data-testid=compare-view][data-state=pick]", timeout=5000)
    file_input = page.locator("[data-testid=compare-file-input]")
    assert page.locator(f"[data-testid=compare-pick][data-trace-id='{books['id']}']").is_visible()

    # A file that is not a trace gets the dashboard's error, naming the file and the field.
    file_input.set_input_files({"name": "broken.actual.json", "mimeType": "application/json",
                                "buffer": json.dumps({**saved, "spans": "DROP TABLE shop_book"}).encode()})
    error = page.locator("[data-testid=compare-error]")
    error.wait_for(timeout=5000)
    assert error.inner_text().startswith("Could not open broken.actual.json")
    assert "spans" in error.inner_text()
    assert page.locator("[data-testid=compare-view]").get_attribute("data-state") == "pick"
    page.screenshot(path=str(artifacts / "compare-picker-error.png"))

    # Dropped on the page while the dialog is open: the trace to compare with.
    page.evaluate("""(text) => {
        const data = new DataTransfer();
        data.items.add(new File([text], "books.actual.json", {type: "application/json"}));
        document.body.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
    }""", json.dumps(saved))
    page.wait_for_selector("[data-testid=compare-view][data-state=done]", timeout=10000)
    assert "books.actual.json" in page.locator("[data-testid=compare-side-b]").inner_text()
    top = first_query(page)
    assert (top["change"], top["delta"]) == ("new", str(BOOKS))
    assert top["sql"] == hostile_sql
    assert page.locator("[data-testid=compare-view] img").count() == 0
    assert page.evaluate("window.pwned") is None
    page.screenshot(path=str(artifacts / "compare-file.png"), full_page=True)
    page.locator("[data-testid=compare-close]").click()
    page.wait_for_selector("[data-testid=compare-view][data-state=closed]", state="attached", timeout=5000)
