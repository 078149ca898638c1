"""lifecycle and django-debug-toolbar on one site, with the real toolbar: neither shows the other's work.

- The toolbar's own work (its panels' setup and stats, its HTML, its store's SQL) is not in the trace:
  the same page traced with and without the toolbar has the same templates and queries.
- lifecycle's wrapper frames are not in the toolbar's SQL stack traces.
- The toolbar stays out of the dashboard (``/__lifecycle__/``) and its API.
"""

from __future__ import annotations

import importlib
import os
import re

import pytest
from asgiref.sync import async_to_sync
from debug_toolbar.panels import Panel
from django.conf import settings
from django.core.cache import cache
from django.test import AsyncClient, Client, override_settings
from django.urls import clear_url_caches

import lifecycle
from lifecycle.checks import MIDDLEWARE_PATH
from lifecycle.trace import Trace
from tests.conftest import last_trace

TOOLBAR_MIDDLEWARE = "debug_toolbar.middleware.DebugToolbarMiddleware"
SITE_MIDDLEWARE = [m for m in settings.MIDDLEWARE if m not in (MIDDLEWARE_PATH, TOOLBAR_MIDDLEWARE)]


def _default_panels() -> list[str]:
    from debug_toolbar.settings import PANELS_DEFAULTS

    return [*PANELS_DEFAULTS, "lifecycle.panels.LifecyclePanel"]


@pytest.fixture(autouse=True)
def _toolbar_urls():
    """``debug_toolbar.urls`` is built once, from the panels configured when a URLconf first includes it
    (the toolbar does not rebuild it on setting_changed): here, from every default panel's."""
    from debug_toolbar.toolbar import DebugToolbar

    urls = importlib.import_module("debug_toolbar.urls")  # not debug_toolbar.urls: a tuple until imported
    saved = list(urls.urlpatterns)
    with override_settings(DEBUG_TOOLBAR_PANELS=_default_panels()):
        DebugToolbar._urlpatterns = None
        urls.urlpatterns[:] = DebugToolbar.get_urls()
    clear_url_caches()
    yield
    urls.urlpatterns[:] = saved
    clear_url_caches()


def toolbar_settings(*, store: str = "debug_toolbar.store.MemoryStore", panels=None, above=()) -> dict:
    """The toolbar with every default panel and ours, shown to everyone; ``above``: middleware of the site
    between ours and the toolbar's."""
    return {
        "DEBUG": True,
        "MIDDLEWARE": [MIDDLEWARE_PATH, *above, TOOLBAR_MIDDLEWARE, *SITE_MIDDLEWARE],
        "DEBUG_TOOLBAR_CONFIG": {"SHOW_TOOLBAR_CALLBACK": lambda request: True, "IS_RUNNING_TESTS": False,
                                 "TOOLBAR_STORE_CLASS": store},
        "DEBUG_TOOLBAR_PANELS": panels or _default_panels(),
    }


WITHOUT_TOOLBAR = {"DEBUG": True, "MIDDLEWARE": [MIDDLEWARE_PATH, *SITE_MIDDLEWARE]}


def site_work(trace: Trace) -> list[tuple]:
    """The templates and queries of a trace, in order, with what identifies them."""
    return [(s.kind, s.name, s.attrs.get("sql"), tuple(s.attrs.get("params") or ()))
            for s in trace.spans if s.kind in ("template", "sql")]


def summary_of_site_work(trace: Trace) -> dict:
    summary = trace.summary
    return {
        "counts": {k: summary["counts"].get(k, 0) for k in ("template", "sql", "cache", "view", "resolve")},
        "duplicates": [(g["fingerprint"], g["count"]) for g in summary["duplicate_groups"]],
        "n_plus_one": [(g["fingerprint"], g["count"]) for g in summary.get("n_plus_one_groups", ())],
    }


def _request_id(html: str) -> str:
    return re.search(r'data-request-id="([0-9a-f]+)"', html).group(1)


@pytest.fixture
def developer(seeded, django_user_model):
    """Logged-in staff clients of one session: the toolbar's request panel reads the session, the site's
    pages do not. A new client per settings (a client builds its middleware chain at its first request)."""
    user = django_user_model.objects.create_user("dev", password="pw", is_staff=True)
    logged_in = Client()
    logged_in.force_login(user)

    def client() -> Client:
        fresh = Client()
        fresh.cookies = logged_in.cookies
        return fresh

    return client


@pytest.fixture
def database_store(db):
    """The table of the toolbar's DatabaseStore, which the toolbar's app migrates only when the settings
    name that store at startup; created inside the test's transaction, so it goes with it."""
    from debug_toolbar.models import HistoryEntry
    from django.db import connection

    editor = connection.schema_editor()  # not entered: SQLite refuses that inside a transaction
    editor.deferred_sql = []  # indexes: not needed here
    editor.create_model(HistoryEntry)
    return HistoryEntry


def test_a_page_traced_with_the_toolbar_has_exactly_the_sites_templates_and_queries(developer, database_store):
    with override_settings(**WITHOUT_TOOLBAR):
        assert 'id="djDebug"' not in developer().get("/books/").content.decode()
        plain = last_trace()
    # The database store: the toolbar saves every panel with SQL of its own, in the site's database.
    with override_settings(**toolbar_settings(store="debug_toolbar.store.DatabaseStore")):
        html = developer().get("/books/").content.decode()
        assert 'id="djDebug"' in html, "the toolbar is injected"
        with_toolbar = last_trace()
        toolbar_queries = _sql_panel_queries(html)
    assert database_store.objects.filter(request_id=_request_id(html)).exists(), "the toolbar stored this page"
    site_queries = [q for q in toolbar_queries if '"shop_' in q["sql"]]
    assert len(site_queries) == 21, "the toolbar's SQL panel still sees every query of the site"

    assert site_work(with_toolbar) == site_work(plain)
    assert len(site_work(plain)) == 3 + 21
    names = [s.name for s in with_toolbar.spans]
    assert not [n for n in names if "debug_toolbar" in n and not n.endswith("DebugToolbarMiddleware")]
    assert not [s for s in with_toolbar.spans_of("sql") if "debug_toolbar" in (s.attrs.get("sql") or "")]
    assert summary_of_site_work(with_toolbar) == summary_of_site_work(plain)
    # The toolbar's middleware is a layer of the chain like any other, holding the site's layers.
    toolbar_span = next(s for s in with_toolbar.spans if s.name == TOOLBAR_MIDDLEWARE)
    assert toolbar_span.parent_id == with_toolbar.spans[0].id
    assert [s.parent_id for s in with_toolbar.spans if s.name == SITE_MIDDLEWARE[0]] == [toolbar_span.id]


def staff_only(request) -> bool:
    return request.user.is_staff


def test_the_sites_show_toolbar_callback_is_the_sites_code_and_recorded(developer):
    """A SHOW_TOOLBAR_CALLBACK that loads request.user (the toolbar below AuthenticationMiddleware) makes
    the session and user queries the site's view would otherwise make itself: they are in the trace."""
    config = toolbar_settings()
    auth = SITE_MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1
    config["MIDDLEWARE"] = [MIDDLEWARE_PATH, *SITE_MIDDLEWARE[:auth], TOOLBAR_MIDDLEWARE, *SITE_MIDDLEWARE[auth:]]
    config["DEBUG_TOOLBAR_CONFIG"] = {**config["DEBUG_TOOLBAR_CONFIG"],
                                      "SHOW_TOOLBAR_CALLBACK": "tests.test_toolbar_neighbour.staff_only"}
    from debug_toolbar.middleware import show_toolbar_func_or_path

    show_toolbar_func_or_path.cache_clear()  # the toolbar keeps the first callback it imported
    try:
        with override_settings(**config):
            assert 'id="djDebug"' in developer().get("/books/").content.decode()
            trace = last_trace()
    finally:
        show_toolbar_func_or_path.cache_clear()
    toolbar_span = next(s for s in trace.spans if s.name == TOOLBAR_MIDDLEWARE)
    tables = [re.search(r'FROM "(\w+)"', s.attrs["sql"]).group(1) for s in trace.spans_of("sql")]
    assert tables[:2] == ["django_session", "auth_user"] and len(tables) == 2 + 21
    assert {s.parent_id for s in trace.spans_of("sql")[:2]} == {toolbar_span.id}


def test_under_asgi_too_the_trace_has_only_the_sites_work_and_the_panel_its_snapshot(seeded):
    with override_settings(**WITHOUT_TOOLBAR):
        Client().get("/books/")
        plain = last_trace()
    with override_settings(**toolbar_settings()):
        # async_to_sync keeps the ORM on this thread, inside the test's transaction.
        html = async_to_sync(AsyncClient().get)("/books/").content.decode()
        with_toolbar = last_trace()
    assert 'id="djDebug"' in html
    assert "21 queries · 1 N+1" in html, "our panel took its snapshot of the recording"
    assert site_work(with_toolbar) == site_work(plain)
    assert summary_of_site_work(with_toolbar) == summary_of_site_work(plain)


class FailingPanel(Panel):
    """Stands for a third-party panel whose stats fail: the toolbar's own code raises."""

    title = nav_title = "failing"
    is_async = True
    template = "debug_toolbar/panels/timer.html"

    def generate_stats(self, request, response):
        raise RuntimeError("panel failed")


class CacheAfterResponse:
    """A site's middleware above the toolbar that uses the cache once the toolbar has returned."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        finally:
            cache.get("after-the-toolbar")


def test_the_recording_goes_on_after_the_toolbars_own_code_raised(seeded):
    panels = ["tests.test_toolbar_neighbour.FailingPanel", "lifecycle.panels.LifecyclePanel"]
    above = ["tests.test_toolbar_neighbour.CacheAfterResponse"]
    with override_settings(**toolbar_settings(panels=panels, above=above)):
        response = Client(raise_request_exception=False).get("/books/")
        trace = last_trace()
    assert response.status_code == 500
    assert [s.name for s in trace.spans_of("cache")][-1:] == ["get after-the-toolbar"], "traced after it"
    assert [e.name for e in trace.spans_of("exception")] == ["RuntimeError"]
    assert trace.summary["queries"] == 21
    # The next request is recorded as usual.
    with override_settings(**WITHOUT_TOOLBAR):
        Client().get("/books/")
    assert last_trace().id != trace.id and last_trace().summary["queries"] == 21


def _lifecycle_frames(stacktrace) -> list[str]:
    """The files of lifecycle's package in one of the SQL panel's stack traces (file, line, function, ...)."""
    package = os.path.dirname(lifecycle.__file__) + os.sep
    return [frame[0] for frame in stacktrace if frame[0].startswith(package)]


def _sql_panel_queries(html: str) -> list[dict]:
    from debug_toolbar.toolbar import DebugToolbar

    return DebugToolbar.fetch(_request_id(html), "SQLPanel").get_panel_by_id("SQLPanel").get_stats()["queries"]


def test_the_toolbars_sql_stack_traces_hold_no_lifecycle_frame(seeded):
    with override_settings(**toolbar_settings()):
        queries = _sql_panel_queries(Client().get("/books/").content.decode())
    assert len(queries) == 21
    view = os.path.join("demo_site", "shop", "views.py")
    for query in queries:
        assert _lifecycle_frames(query["stacktrace"]) == []
        assert [f[2] for f in query["stacktrace"] if f[0].endswith(view)] == ["book_list"], "the site's frames stay"


def test_a_site_that_shows_the_toolbars_own_frames_sees_lifecycles_too(seeded):
    """HIDE_IN_STACKTRACES without "debug_toolbar" shows the toolbar's frames: lifecycle's are shown too."""
    config = toolbar_settings()
    config["DEBUG_TOOLBAR_CONFIG"] = {**config["DEBUG_TOOLBAR_CONFIG"], "HIDE_IN_STACKTRACES": ("django",)}
    with override_settings(**config):
        queries = _sql_panel_queries(Client().get("/books/").content.decode())
    assert len(queries) == 21
    assert all(_lifecycle_frames(q["stacktrace"]) for q in queries)


def test_the_toolbar_stays_out_of_the_dashboard(seeded):
    from debug_toolbar.store import get_store

    with override_settings(**toolbar_settings(), INTERNAL_IPS=["127.0.0.1"]):
        client = Client()
        before = list(get_store().request_ids())
        dashboard = client.get("/__lifecycle__/")
        api = client.get("/__lifecycle__/api/traces/")
        after = list(get_store().request_ids())
        page = client.get("/books/")
    assert dashboard.status_code == 200 and api.status_code == 200
    assert 'id="djDebug"' not in dashboard.content.decode()
    assert after == before, "the toolbar's history does not list the dashboard's requests"
    assert 'id="djDebug"' in page.content.decode(), "other pages still have the toolbar"


def test_the_toolbars_methods_keep_their_kind_signature_and_names():
    import inspect

    from debug_toolbar import middleware, toolbar, utils

    from lifecycle.instruments import toolbar as instrument

    def shapes():
        Toolbar, Middleware = toolbar.DebugToolbar, middleware.DebugToolbarMiddleware
        return [
            (type(Toolbar.__dict__["is_toolbar_request"]), inspect.signature(Toolbar.is_toolbar_request),
             inspect.signature(Toolbar.__init__), inspect.signature(Middleware.__call__),
             inspect.iscoroutinefunction(Middleware.__acall__), inspect.signature(utils._is_excluded_frame)),
            [(f.__name__, f.__qualname__, f.__module__) for f in (
                Toolbar.is_toolbar_request.__func__, Toolbar.__init__, Middleware.__call__, Middleware.__acall__,
                utils._is_excluded_frame)],
        ]

    assert instrument._originals, "installed"
    patched = shapes()
    instrument.uninstall()
    try:
        assert _no_wrapper_left(toolbar, middleware, utils)
        assert shapes() == patched
    finally:
        instrument.install()


def _no_wrapper_left(toolbar, middleware, utils) -> bool:
    """No wrapper of ours left on the toolbar."""
    functions = [toolbar.DebugToolbar.is_toolbar_request.__func__, toolbar.DebugToolbar.__init__,
                 middleware.DebugToolbarMiddleware.__call__, middleware.DebugToolbarMiddleware.__acall__,
                 utils._is_excluded_frame]
    return not any(hasattr(f, "__wrapped__") for f in functions)


def test_without_the_toolbar_app_nothing_of_the_toolbar_is_imported():
    import subprocess
    import sys

    code = ("import sys, django; django.setup(); "
            "from lifecycle.instruments import install_all, toolbar; install_all(); "
            "print(sorted(m for m in sys.modules if m.startswith('debug_toolbar')), toolbar._originals)")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "demo_site.settings"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(lifecycle.__file__)))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[] {}"


@pytest.mark.lifecycle_allow_n_plus_one("checks that nothing records it: the guard would")
def test_below_the_toolbar_the_panel_says_the_request_was_not_recorded_and_why(seeded):
    config = toolbar_settings(panels=["lifecycle.panels.LifecyclePanel"])
    config["MIDDLEWARE"] = [TOOLBAR_MIDDLEWARE, MIDDLEWARE_PATH, *SITE_MIDDLEWARE]
    with override_settings(**config):
        client = Client()
        html = client.get("/books/").content.decode()
        panel = client.get("/__debug__/render_panel/", {"request_id": _request_id(html), "panel_id": "LifecyclePanel"})
    assert "not recorded" in html
    assert "is not above <code>debug_toolbar.middleware.DebugToolbarMiddleware</code>" in panel.json()["content"]
