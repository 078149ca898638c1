"""The SQL instrument leaves ``connection.execute_wrappers`` as the site made it.

Before, it appended its wrapper to every connection's list, so a site (or Django's own
``backends.base.test_base.ExecuteWrapperTests.test_wrapper_connection_specific``) that checks the list
saw a function it never added. Now the list holds only what the site puts there, the site's wrappers
still run (inside our span, on the statement the site passed them) and every query is still recorded.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from tests.conftest import last_trace

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db(databases=["default"])]

seen: list[str] = []


def comment_wrapper(execute, sql, params, many, context):
    seen.append(sql)
    return execute(f"{sql} /* site's wrapper */", params, many, context)


def view(request):
    lists = {"before": list(connection.execute_wrappers)}
    with connection.execute_wrapper(comment_wrapper):
        lists["inside"] = list(connection.execute_wrappers)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    lists["after"] = list(connection.execute_wrappers)

    def other_thread():
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 2")
        connections["default"].close()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    return HttpResponse(repr({k: len(v) for k, v in lists.items()}))


urlpatterns = [path("wrappers/", view)]


def test_execute_wrappers_hold_only_what_the_site_added():
    seen.clear()
    assert connection.execute_wrappers == []
    response = Client().get("/wrappers/")
    assert response.content == b"{'before': 0, 'inside': 1, 'after': 0}"
    assert seen == ["SELECT 1"], "the site's wrapper ran once, on the statement the site wrote"
    assert connection.execute_wrappers == []
    queries = [s.attrs["sql"] for s in last_trace().spans if s.kind == "sql"]
    assert "SELECT 1" in queries
    assert "SELECT 2" not in queries  # another thread's context has no trace: not recorded


def test_a_wrapper_list_that_the_site_fills_is_left_alone():
    with connection.execute_wrapper(comment_wrapper):
        assert connection.execute_wrappers == [comment_wrapper]
    assert connection.execute_wrappers == []


def test_a_failing_query_keeps_its_exception_and_records_its_message_redacted(db):
    """A database error's message can quote the row's values (PostgreSQL's ``DETAIL: Key (api_token)=(...)``):
    the span keeps the message with secret values redacted; the site gets the exception untouched."""
    from django.db import DatabaseError

    from lifecycle.recorder import Recording

    message = ('duplicate key value violates unique constraint "shop_user_api_token_key"\n'
               "DETAIL:  Key (api_token)=(tok-5f2e9a) already exists. password=hunter2")
    raised = DatabaseError(message)

    def failing(execute, sql, params, many, context):
        raise raised

    rec = Recording("block", "test")
    rec.activate()
    try:
        with connection.execute_wrapper(failing), pytest.raises(DatabaseError) as caught:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
    finally:
        rec.deactivate()
    assert caught.value is raised and str(caught.value) == message
    (span,) = [s for s in rec.trace.spans if s.kind == "sql"]
    error = span.attrs["error"]
    assert error.startswith("DatabaseError: duplicate key value violates unique constraint")
    assert "tok-5f2e9a" not in error and "hunter2" not in error
    assert "Key (api_token)=(********)" in error
