"""EXPLAIN of a recorded SELECT from the dashboard: only a query the site ran, only a SELECT, read-only,
rolled back, under the dashboard's access rule, its cross-site refusal and Django's CSRF token."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection, connections, transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path, reverse
from django.utils import timezone

from lifecycle import explain, store
from lifecycle.conf import REDACTED

pytestmark = [pytest.mark.urls(__name__), pytest.mark.sql_backends, pytest.mark.django_db,
              pytest.mark.usefixtures("debug_on")]

INTERNAL = "127.0.0.1"
OUTSIDE = "203.0.113.9"


def select_view(request):
    names = list(User.objects.filter(username="ann", is_active=True, date_joined__lte=timezone.now())
                 .values_list("username", flat=True))
    return HttpResponse(repr(names))


def update_view(request):
    User.objects.filter(username="nobody").update(first_name="x")
    return HttpResponse("updated")


def secret_view(request):
    return HttpResponse(str(User.objects.filter(password="hunter2").exists()))


def writer_view(request):
    # A SELECT whose function writes: run once, undone, so only the span remains.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT lifecycle_test_write(%s)", ["written"])
        transaction.set_rollback(True)
    return HttpResponse("ran")


def other_alias_view(request):
    with connections["other"].cursor() as cursor:
        cursor.execute("SELECT x FROM only_on_other WHERE x = %s", [1])
    return HttpResponse("ok")


urlpatterns = [
    path("other/", other_alias_view),
    path("select/", select_view),
    path("update/", update_view),
    path("secret/", secret_view),
    path("writer/", writer_view),
    path("__lifecycle__/", include("lifecycle.urls")),
]


def recorded(path: str, client: Client | None = None) -> tuple[str, list]:
    (client or Client(REMOTE_ADDR=INTERNAL)).get(path)
    row = store.recent(1)[0]
    assert row["path"] == path
    trace = store.get(row["id"])
    assert trace is not None
    return row["id"], trace.spans_of("sql")


def url(trace_id: str, span_id: object) -> str:
    return reverse("lifecycle:api-explain", args=[trace_id, span_id])


def post(trace_id: str, span_id: object, client: Client | None = None, **data) -> tuple[int, dict]:
    response = (client or Client(REMOTE_ADDR=INTERNAL)).post(url(trace_id, span_id), data)
    assert response["Content-Type"] == "application/json"
    return response.status_code, json.loads(response.content)


def the_select(spans) -> int:
    return next(s.id for s in spans if s.attrs["sql"].lstrip().upper().startswith("SELECT")
                and "auth_user" in s.attrs["sql"])


def test_a_recorded_select_is_explained_on_its_alias():
    trace_id, spans = recorded("/select/")
    before = store.size()
    status, body = post(trace_id, the_select(spans))
    assert status == 200, body
    assert body["vendor"] == connection.vendor and body["alias"] == "default" and body["analyze"] is False
    plan = "\n".join(" ".join(str(c) for c in row) for row in body["rows"])
    assert "auth_user" in plan
    if connection.vendor == "sqlite":
        assert body["statement"] == "EXPLAIN QUERY PLAN" and "detail" in body["columns"]
    else:
        assert body["statement"] == "EXPLAIN" and body["columns"] == ["QUERY PLAN"]
    assert store.size() == before  # the explain itself is never recorded


@pytest.mark.django_db(databases=["default", "other"])
def test_the_query_is_explained_on_the_alias_it_ran_on():
    with connections["other"].cursor() as cursor:
        cursor.execute("CREATE TABLE only_on_other (x integer)")
    trace_id, spans = recorded("/other/")
    span = next(s for s in spans if "only_on_other" in s.attrs["sql"])
    status, body = post(trace_id, span.id)
    assert status == 200, body
    assert body["alias"] == "other" and "only_on_other" in body["rows"][0][-1]


def test_explain_analyze_needs_postgresql():
    trace_id, spans = recorded("/select/")
    status, body = post(trace_id, the_select(spans), analyze="1")
    if connection.vendor == "postgresql":
        assert status == 200, body
        assert body["analyze"] is True and body["statement"] == "EXPLAIN (ANALYZE, BUFFERS)"
        assert any("actual time" in row[0] for row in body["rows"])
    else:
        assert status == 400 and "PostgreSQL only" in body["error"]


def test_non_select_is_refused_and_not_run():
    User.objects.create(username="nobody", first_name="kept")
    trace_id, spans = recorded("/update/")
    update = next(s for s in spans if s.attrs["sql"].startswith("UPDATE"))
    User.objects.filter(username="nobody").update(first_name="kept")
    status, body = post(trace_id, update.id)
    assert status == 400 and "Only a SELECT" in body["error"] and "'UPDATE'" in body["error"]
    assert User.objects.get(username="nobody").first_name == "kept"


def test_a_redacted_parameter_is_refused_clearly():
    trace_id, spans = recorded("/secret/")
    span = next(s for s in spans if "password" in s.attrs["sql"])
    assert REDACTED in span.attrs["params"]
    status, body = post(trace_id, span.id)
    assert status == 400 and "redacted" in body["error"]


def test_unknown_trace_span_or_a_span_that_is_not_a_query():
    trace_id, spans = recorded("/select/")
    status, body = post("no-such-trace", 1)
    assert status == 404 and "no-such-trace" in body["error"]
    status, body = post(trace_id, 999999)
    assert status == 404 and "no span 999999" in body["error"]
    status, body = post(trace_id, 0)
    assert status == 400 and "not a query" in body["error"]
    for forged in ("1; DROP TABLE auth_user", "9" * 5000, "²"):
        status, body = post(trace_id, forged)
        assert status == 400 and "expected a span id" in body["error"], forged


def test_only_post_and_nothing_runs_on_get():
    trace_id, spans = recorded("/select/")
    response = Client(REMOTE_ADDR=INTERNAL).get(url(trace_id, the_select(spans)))
    assert response.status_code == 405


def test_refused_viewer_sees_nothing():
    trace_id, spans = recorded("/select/")
    status, body = post(trace_id, the_select(spans), client=Client(REMOTE_ADDR=OUTSIDE))
    assert status == 403 and "INTERNAL_IPS" in body["error"]
    assert "auth_user" not in json.dumps(body)


def test_another_sites_page_is_refused():
    trace_id, spans = recorded("/select/")
    client = Client(REMOTE_ADDR=INTERNAL, HTTP_ORIGIN="https://evil.example", HTTP_SEC_FETCH_SITE="cross-site")
    status, body = post(trace_id, the_select(spans), client=client)
    assert status == 403 and "cross-origin" in body["error"]


def test_the_csrf_token_of_the_dashboard_is_needed():
    client = Client(REMOTE_ADDR=INTERNAL, enforce_csrf_checks=True)
    trace_id, spans = recorded("/select/", client)
    status, body = post(trace_id, the_select(spans), client=client)
    assert status == 403 and "CSRF" in body["error"]
    page = client.get(reverse("lifecycle:dashboard"))
    token = page.context["config"]["csrfToken"]
    response = client.post(url(trace_id, the_select(spans)), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200, response.content


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_select_that_writes_is_stopped_by_the_read_only_transaction():
    with connection.cursor() as cursor:
        cursor.execute("CREATE FUNCTION lifecycle_test_write(n text) RETURNS int LANGUAGE sql VOLATILE AS "
                       "$$ INSERT INTO auth_group (name) VALUES (n) RETURNING 1 $$")
    trace_id, spans = recorded("/writer/")
    span = next(s for s in spans if "lifecycle_test_write" in s.attrs["sql"])
    status, body = post(trace_id, span.id)  # plain EXPLAIN does not run it
    assert status == 200, body
    status, body = post(trace_id, span.id, analyze="1")
    assert status == 422 and "read-only transaction" in body["error"]
    assert not Group.objects.filter(name="written").exists()


@pytest.mark.parametrize("sql", [
    "UPDATE t SET a = 1",
    "SELECT 1; DELETE FROM t",
    "SELECT * FROM t FOR UPDATE",
    "SELECT * FROM t FOR NO KEY UPDATE",
    "SELECT * FROM t FOR SHARE",
    "SELECT * INTO t2 FROM t",
    "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
    "SELECT 'unterminated",
    "SELECT * FROM t WHERE name='C:\\' ; DELETE FROM t",
    f"SELECT * FROM t WHERE a = '{REDACTED}'",
])
def test_statements_that_are_not_a_plain_select_are_refused(sql):
    with pytest.raises(explain.Refused):
        explain.check_select(sql)


@pytest.mark.parametrize("sql", [
    'SELECT "into", \'a; b FOR UPDATE\' FROM t -- into;\n',
    "SELECT * FROM t /* ; */ WHERE a = %s;",
    "(SELECT 1) UNION (SELECT 2)",
    "SELECT $x$ ; into $x$",
])
def test_quotes_comments_and_a_final_semicolon_are_fine(sql):
    explain.check_select(sql)


@pytest.mark.parametrize(("shown", "value"), [
    ("ann", "ann"), ("42", "42"), ("NULL", None), ("Decimal('1.50')", "1.50"),
    ("UUID('12345678-1234-5678-1234-567812345678')", "12345678-1234-5678-1234-567812345678"),
    ("datetime.datetime(2026, 12, 7, 17, 0, 5, tzinfo=datetime.timezone.utc)", "2026-12-07 17:00:05+00:00"),
    ("datetime.date(2026, 12, 7)", "2026-12-07"),
    ("Jsonb({'a': [1, None]})", '{"a": [1, null]}'),
])
def test_recorded_parameters_are_read_back(shown, value):
    assert explain.param_value(shown, 1) == value


@pytest.mark.parametrize("shown", [REDACTED, "x" * 10 + "… (5000 chars)", "<12 bytes>",
                                   "datetime.datetime(__import__('os'))", "Point(1, 2)"])
def test_parameters_that_cannot_be_read_back_are_refused(shown):
    with pytest.raises(explain.Refused):
        explain.param_value(shown, 1)


def test_the_token_works_without_the_sites_csrf_middleware(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "CsrfViewMiddleware" not in m]
    client = Client(REMOTE_ADDR=INTERNAL, enforce_csrf_checks=True)
    trace_id, spans = recorded("/select/", client)
    assert client.post(url(trace_id, the_select(spans))).status_code == 403
    token = client.get(reverse("lifecycle:dashboard")).context["config"]["csrfToken"]
    response = client.post(url(trace_id, the_select(spans)), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200, response.content
