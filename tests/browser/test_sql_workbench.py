"""The SQL workbench in Chromium: a query's detail shows its SQL with the parameters written in, copies it,
and EXPLAINs it on click (on PostgreSQL too, with EXPLAIN ANALYZE after a second click, when DATABASE_URL
points to PostgreSQL: the demo site then runs on a database of its own there)."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.browser.conftest import DemoServer, open_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.sql_backends]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
POSTGRES = DATABASE_URL.startswith(("postgres://", "postgresql://"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {}
    if POSTGRES:
        import psycopg

        base, _, _ = DATABASE_URL.rpartition("/")
        name = f"lifecycle_workbench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = f"{base}/{name}"
    server = DemoServer(tmp_path_factory.mktemp("workbench"), env).start()
    yield server
    server.stop()
    if POSTGRES:
        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def page(browser, server):
    context, page, errors = open_dashboard(browser, server, permissions=("clipboard-read", "clipboard-write"))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the dashboard: {errors}"


def open_query(page, server, path: str, text: str):
    """Requests ``path``, opens its trace and the first query whose SQL has ``text``; returns the detail."""
    before = set(server.trace_ids(path))
    assert server.get(path) == 200
    new = [i for i in server.trace_ids(path) if i not in before]
    assert len(new) == 1
    row = page.locator(f'[data-testid=request-row][data-trace-id="{new[0]}"][data-running=false]')
    row.wait_for(timeout=10000)
    row.click()
    page.wait_for_selector("[data-testid=trace-view][data-state=done]", timeout=10000)
    page.locator("[data-testid=waterfall-row][data-kind=sql]", has_text=text).first.click()
    detail = page.locator("[data-testid=span-detail][data-kind=sql]")
    detail.wait_for(timeout=5000)
    return detail


def test_explain_a_query_and_copy_its_sql(page, server, artifacts):
    book = 1
    detail = open_query(page, server, f"/books/{book}/", "shop_book")
    readable = detail.locator("[data-testid=sql-readable]")
    assert "\nFROM " in readable.inner_text() and "%s" not in readable.inner_text()
    assert f"= {book}" in readable.inner_text()

    detail.locator("[data-testid=copy-sql]").click()
    page.wait_for_function("() => document.querySelector('[data-testid=copy-status]').textContent === 'Copied'",
                           timeout=5000)
    assert page.evaluate("() => navigator.clipboard.readText()") == readable.inner_text()

    detail.locator("[data-testid=explain]").click()
    plan = detail.locator("[data-testid=explain-plan]")
    plan.wait_for(timeout=10000)
    text = plan.inner_text()
    if POSTGRES:
        assert "shop_book" in text and "cost=" in text
        assert detail.locator("[data-testid=explain-analyze]").is_hidden()
        detail.locator("[data-testid=explain-analyze-arm]").click()
        detail.locator("[data-testid=explain-analyze]").click()
        page.wait_for_selector("[data-testid=explain-result][data-analyze=true]", timeout=10000)
        assert "actual time" in detail.locator("[data-testid=explain-plan]").inner_text()
    else:
        assert "shop_book" in text and ("SEARCH" in text or "SCAN" in text)
        assert detail.locator("[data-testid=explain-analyze-arm]").count() == 0
    page.screenshot(path=str(artifacts / "sql-workbench.png"), full_page=True)


def test_the_page_sends_its_csrf_token_and_a_forged_id_gets_a_clear_answer(page, server):
    detail = open_query(page, server, "/books/fixed/", "shop_book")
    # A forged span id: the endpoint names the problem.
    status = page.evaluate(
        """async () => {
          const config = JSON.parse(document.getElementById('lifecycle-config').textContent);
          const r = await fetch(config.apiBase + 'traces/nope/spans/1/explain/',
                                {method: 'POST', headers: {'X-CSRFToken': config.csrfToken}});
          const noToken = await fetch(config.apiBase + 'traces/nope/spans/1/explain/', {method: 'POST'});
          return [r.status, (await r.json()).error, noToken.status];
        }"""
    )
    assert status[0] == 404 and "nope" in status[1] and status[2] == 403
    assert detail.locator("[data-testid=explain]").count() == 1
