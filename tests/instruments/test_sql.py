from __future__ import annotations

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from demo_site.shop.models import Book
from lifecycle.fingerprint import fingerprint
from lifecycle.recorder import current
from tests.conftest import DEMO_PAGES, all_traces, get_page, last_trace, page_url

pytestmark = pytest.mark.sql_backends



@pytest.mark.parametrize("path", DEMO_PAGES)
def test_sql_spans_match_djangos_own_query_log(seeded, path):
    client = Client(raise_request_exception=False)
    path = page_url(path)
    get_page(client, path)  # warm-up: caches and sessions in their steady state
    with CaptureQueriesContext(connection) as captured:
        get_page(client, path)
    trace = last_trace()
    spans = trace.spans_of("sql")
    assert len(spans) == len(captured.captured_queries), [s.attrs["sql"] for s in spans]
    assert len(spans) > 0 or path in ("/cached/", "/account/login/", "/", "/no/such/page/")
    for span, logged in zip(spans, captured.captured_queries, strict=True):
        assert span.attrs["fp"] == fingerprint(logged["sql"])[0], (span.attrs["sql"], logged["sql"])
        assert span.attrs["alias"] == "default"
        assert span.attrs["vendor"] == connection.vendor


def test_n_plus_one_page_has_one_duplicate_group_of_one_query_per_book(seeded):
    Client().get("/books/")
    summary = last_trace().summary
    groups = summary["duplicate_groups"]
    assert len(groups) == 1
    assert groups[0]["count"] == Book.objects.count()
    assert groups[0]["n_plus_one"] is True
    assert summary["n_plus_one"] == 1
    assert "shop_author" in groups[0]["fingerprint"]
    # The group points at the user code that issued the queries: the demo's template-driven lookup.
    assert groups[0]["stack"] or last_trace().spans_of("sql")[1].attrs["stack"] is not None


def test_fixed_page_has_no_duplicates(seeded):
    Client().get("/books/fixed/")
    summary = last_trace().summary
    assert summary["duplicate_groups"] == []
    assert summary["n_plus_one"] == 0


def test_query_span_details(seeded):
    Client().get("/t/queries/2/")
    spans = last_trace().spans_of("sql")
    assert [s.attrs["params"] for s in spans] == [["0"], ["1"]]
    first = spans[0]
    assert first.attrs["sql"] == "SELECT %s"
    assert first.duration_ns > 0
    frames = first.attrs["stack"]
    assert frames[0][0] == "tests/testapp/views.py" and frames[0][2] == "_select"
    assert frames[1][2] == "queries"
    assert all("site-packages" not in f[0] and "/lifecycle/" not in f[0] for f in frames)
    view = next(s for s in last_trace().spans if s.kind == "view")
    assert first.parent_id == view.id


def test_queries_from_templates_nest_in_the_template_span(seeded):
    Client().get("/books/")
    trace = last_trace()
    by_id = {s.id: s for s in trace.spans}
    lookups = [s for s in trace.spans_of("sql") if "shop_author" in s.attrs["sql"]]
    assert lookups
    for span in lookups:
        assert by_id[span.parent_id].kind == "template"


def test_queries_from_async_views_are_recorded(seeded):
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    # Called from this thread, the view's thread-sensitive ORM calls run here, on the test's connection.
    response = async_to_sync(AsyncClient().get)("/async/")
    assert response.status_code == 200
    trace = last_trace()
    assert trace.summary["queries"] >= 2
    view = next(s for s in trace.spans if s.kind == "view")
    assert view.attrs["is_async"] is True
    assert all(s.parent_id is not None for s in trace.spans_of("sql"))


@pytest.mark.django_db(databases=["default", "other"])
def test_every_database_alias_is_recorded():
    from django.test import RequestFactory

    from lifecycle.middleware import LifecycleMiddleware

    def view(request):
        with connections["other"].cursor() as cursor:
            cursor.execute("SELECT 1")
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 2")
        from django.http import HttpResponse

        return HttpResponse("ok")

    LifecycleMiddleware(view)(RequestFactory().get("/x/"))
    spans = last_trace().spans_of("sql")
    assert [(s.attrs["alias"], s.attrs["sql"]) for s in spans] == [("other", "SELECT 1"), ("default", "SELECT 2")]


def test_sensitive_parameters_are_redacted(seeded):
    from django.contrib.auth.models import User

    user = User.objects.create_user("carol", password="old-password")
    client = Client()
    client.force_login(user)
    assert client.get("/t/whoami/").content == b"carol"
    session_spans = [s for s in last_trace().spans_of("sql") if "django_session" in s.attrs["sql"]]
    assert session_spans, "the session lookup is recorded"
    for span in session_spans:
        assert span.attrs["params"] and set(span.attrs["params"]) == {"********"}
    # The trace names the logged-in user the site loaded, for replay.
    assert last_trace().request["user"] == {"id": user.pk, "username": "carol"}


def test_a_querys_parameters_are_the_values_it_ran_with(db):
    """A view that reuses its parameter list for the next query still shows each query's own values."""
    from django.http import HttpResponse
    from django.test import RequestFactory

    from lifecycle.middleware import LifecycleMiddleware

    def view(request):
        params = ["first", 1]
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s, %s", params)
            params[0], params[1] = "second", 2
            cursor.execute("SELECT %s, %s", params)
            params.clear()
        return HttpResponse("ok")

    LifecycleMiddleware(view)(RequestFactory().get("/x/"))
    assert [s.attrs["params"] for s in last_trace().spans_of("sql")] == [["first", "1"], ["second", "2"]]


def test_no_recording_outside_requests(seeded, capsys):
    from django.core.management import call_command
    from django.template import Context, Template

    assert current() is None
    call_command("seed_demo", verbosity=0)
    list(Book.objects.select_related("author"))
    Template("{% for i in items %}{{ i }}{% endfor %}").render(Context({"items": [1, 2]}))
    from django.core.cache import cache

    cache.set("k", 1)
    cache.get("k")
    assert current() is None
    assert all_traces() == []


def test_sql_errors_are_recorded_and_reraised(db):
    from django.db import DatabaseError
    from django.test import RequestFactory

    from lifecycle.middleware import LifecycleMiddleware

    def view(request):
        with connection.cursor() as cursor:
            try:
                cursor.execute("SELECT * FROM no_such_table")
            except DatabaseError:
                pass
        from django.http import HttpResponse

        return HttpResponse("ok")

    response = LifecycleMiddleware(view)(RequestFactory().get("/x/"))
    assert response.status_code == 200
    (span,) = last_trace().spans_of("sql")
    assert "no_such_table" in span.attrs["error"]


def _line_of(marker: str) -> int:
    import inspect

    from tests.testapp import views

    lines = inspect.getsource(views).splitlines()
    return next(i for i, line in enumerate(lines, 1) if marker in line)


def test_queries_in_templates_show_the_user_frames_below_and_above_the_template(db):
    # Stack walks remember the user frames above a template render (lifecycle.frames anchors): the
    # frames below it (here a property of a context object) must still be walked for every query, and
    # each render's own call site must be shown, also when the same template renders twice.
    Client().get("/t/template-queries/")
    spans = last_trace().spans_of("sql")
    assert len(spans) == 12
    select = _line_of('cursor.execute("SELECT %s", [value])')
    stacks = [[tuple(f) for f in s.attrs["stack"]] for s in spans]
    file = "tests/testapp/views.py"
    for i, (span, stack) in enumerate(zip(spans, stacks, strict=True)):
        render_line = _line_of("RENDER-ONE") if i < 6 else _line_of("RENDER-TWO")
        prop = "first" if span.attrs["params"][0].startswith("first") else "second"
        assert stack == [(file, select, "_select"), (file, _line_of(f"_select(f\"{prop}-"), prop),
                         (file, render_line, "template_queries")], (i, span.attrs["params"])
    assert [s.attrs["params"][0] for s in spans[:2]] == ["first-0", "second-0"]


def test_remembered_frames_are_forgotten_when_their_template_returns(db):
    # The memo is keyed by the id of the template render's frame: once that frame is gone its id may be
    # reused by another frame, so the render forgets its entry as it returns.
    from django.template.loader import render_to_string

    from lifecycle.recorder import Recording
    from tests.testapp.views import Row

    seen = []

    class Probe(Row):
        @property
        def first(self):
            seen.append(len(current().anchors))
            return super().first

    rec = Recording()
    rec.activate()
    try:
        render_to_string("testapp/rows.html", {"rows": [Probe(n) for n in range(3)]})
        after = dict(rec.anchors)
    finally:
        rec.deactivate()
    assert seen[0] == 0 and all(n > 0 for n in seen[1:])  # remembered while the template renders...
    assert after == {}  # ...and forgotten once it returned
