"""The request list's row: the query string (redacted), the user, and what the dashboard's sql: and
template: filters search (distinct statements and template names, capped)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from lifecycle import store, trace
from lifecycle.conf import REDACTED
from lifecycle.summary import finalize
from lifecycle.trace import Span, Trace
from tests.conftest import last_trace


def test_row_has_the_redacted_query_string_and_the_user(client, db):
    user = get_user_model().objects.create_user("alice", "a@example.com", "pw")
    client.force_login(user)
    client.get("/t/whoami/?page=2&token=row-secret")
    row = store.recent(1)[0]
    assert row["query"] == f"page=2&token={REDACTED}"
    assert row["user"] == "alice"
    assert row == last_trace().row()


def test_anonymous_and_plain_requests(client, db):
    client.get("/t/whoami/")
    row = store.recent(1)[0]
    assert (row["query"], row["user"]) == ("", None)


def test_row_lists_the_statements_and_templates_of_the_page(client, seeded):
    client.get("/books/")
    row = store.recent(1)[0]
    assert "shop/book_list.html" in row["templates"]
    assert len(row["templates"]) == len(set(row["templates"]))
    # The N+1 page runs one author query per book: it is listed once, with its literals as "?".
    authors = [s for s in row["sql"] if '"shop_author"' in s]
    assert len(authors) == 1 and "= ?" in authors[0].replace("%s", "?")
    assert row["queries"] > len(row["sql"])
    # The row kept by the store is the one the trace it keeps gives.
    assert row == last_trace().row()


def test_row_content_is_capped():
    spans = [Span(0, None, "request", "GET /x/", 0, 10)]
    for i in range(1, 60):
        spans.append(Span(i, 0, "sql", "q", i, 1, {"sql": f"SELECT * FROM t{i} WHERE {'a' * 300} = 1"}))
        spans.append(Span(100 + i, 0, "template", f"t{i}.html", i, 1, {"template": f"t{i}.html"}))
    t = Trace("abc", "2026-12-07T14:02:00.000000Z", 10, request={"method": "GET", "path": "/x/",
                                                                   "query": "q=" + "z" * 500}, spans=spans)
    row = t.row()
    assert len(row["sql"]) == trace.ROW_ITEMS and len(row["templates"]) == trace.ROW_ITEMS
    assert all(len(s) <= trace.ROW_SQL_CHARS + 1 for s in row["sql"])
    assert row["templates"][0] == "t1.html"
    assert len(row["query"]) == trace.ROW_QUERY_CHARS + 1
    # Once summarized, the row counts the queries and lists the same content.
    finalize(t)
    assert t.row() == {**row, "queries": 59}


@pytest.mark.parametrize("request_info", [{}, {"method": "WS", "path": "/ws/", "user": None}])
def test_rows_of_traces_without_a_query_or_user(request_info):
    row = Trace("abc", "2026-12-07T14:02:00.000000Z", request=request_info).row()
    assert (row["query"], row["user"], row["sql"], row["templates"]) == ("", None, [], [])
