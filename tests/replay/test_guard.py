"""The suite-wide N+1 guard (``--lifecycle-n-plus-one``, ``LIFECYCLE["N_PLUS_ONE_GUARD"]``, the
``lifecycle_allow_n_plus_one`` marker) and the plugin's cost for projects that never use it.

Each run is a pytest subprocess of the generated project (``project`` in conftest.py), with DEBUG off as
pytest-django leaves it: the guard records whatever DEBUG is.
"""

from __future__ import annotations

import pytest

from .conftest import CONFTEST, FIRST_RUN_WRITTEN, ROOT, RUN_ARGS, TRACE_FILES

pytest_plugins = ["pytester"]

# A list page whose card template reads each book's author: an N+1 from a template line.
LIST_VIEWS = """


def book_list(request):
    return render(request, "shop/list.html", {"books": Book.objects.order_by("title")})


def book_list_fixed(request):
    books = Book.objects.select_related("author").order_by("title")
    return render(request, "shop/list.html", {"books": books})


def author(request, pk):
    from shop.models import Author

    return render(request, "shop/_card.html", {"book": {"title": "-", "author": Author.objects.get(pk=pk)}})
"""

LIST_URLS = """
    path("list/", views.book_list),
    path("list/fixed/", views.book_list_fixed),
    path("author/<int:pk>/", views.author),
]
"""

GUARDED_TESTS = """
import urllib.request

import pytest
from asgiref.sync import async_to_sync

from test_pages import make_books


@pytest.fixture
def books(db):
    make_books()


def test_list(client, books):
    assert client.get("/list/").status_code == 200


def test_list_fixed(client, books):
    assert client.get("/list/fixed/").status_code == 200


@pytest.mark.lifecycle_allow_n_plus_one("the list is paginated by 4")
def test_list_allowed(client, books):
    assert client.get("/list/").status_code == 200


def test_list_failing_on_its_own(client, books):
    client.get("/list/")
    assert False, "its own failure"


def test_fixture_rows_are_not_judged(db):
    from shop.models import Author

    for i in range(5):  # the test's own queries, outside any request
        Author.objects.create(name=f"Author {i}")


def test_authors_once_per_request(client, books):
    from shop.models import Author

    for author in Author.objects.all():  # the same lookup in each request: not an N+1
        assert client.get(f"/author/{author.pk}/").status_code == 200


def test_async_client(async_client, books):
    assert async_to_sync(async_client.get)("/list/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_live_server(live_server):
    make_books()
    with urllib.request.urlopen(live_server.url + "/list/") as response:
        assert response.status == 200
"""


def settings(project, **lifecycle) -> None:
    """The project's settings, with a STATIC_URL (the live server's static files handler needs one)."""
    text = CONFTEST.replace("USE_TZ=True,", 'USE_TZ=True,\n        STATIC_URL="/static/",')
    assert text != CONFTEST
    project.write("conftest.py", text % {"lifecycle": repr(lifecycle)})


@pytest.fixture
def guarded(project):
    settings(project)
    project.write("shop/templates/shop/list.html", "{% for book in books %}{% include 'shop/_card.html' %}{% endfor %}")
    project.write("shop/templates/shop/_card.html", "<li>{{ book.title }} by\n{{ book.author.name }}</li>\n")
    project.write("shop/views.py", (project.path / "shop" / "views.py").read_text() + LIST_VIEWS)
    urls = project.path / "shop" / "urls.py"
    urls.write_text(urls.read_text().replace("]\n", LIST_URLS.lstrip("\n")))
    project.write("test_guarded.py", GUARDED_TESTS)
    return project


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    """Test name -> PASSED / FAILED, from a ``-v`` run."""
    out = {}
    for line in result.stdout.lines:
        name, _, rest = line.partition(" ")
        if "::" in name and rest.split(" ")[0] in ("PASSED", "FAILED", "ERROR"):
            out[name.split("::")[-1]] = rest.split(" ")[0]
    return out


def test_fail_names_the_template_line(guarded):
    result = guarded.run("test_guarded.py", "-v", "--lifecycle-n-plus-one=fail")
    assert outcomes(result) == {
        "test_list": "FAILED",
        "test_list_fixed": "PASSED",
        "test_list_allowed": "PASSED",
        "test_list_failing_on_its_own": "FAILED",
        "test_fixture_rows_are_not_judged": "PASSED",
        "test_authors_once_per_request": "PASSED",
        "test_async_client": "FAILED",
        "test_live_server": "FAILED",
    }, result.stdout.str()
    block = [
        "*lifecycle N+1 guard: 1 N+1 group (threshold 3) in the requests of this test",
        "  GET /list/: 4 queries from one call site, 4 distinct parameter sets (fingerprint *)",
        '    SELECT "shop_author"."id", "shop_author"."name" FROM "shop_author" WHERE "shop_author"."id" = ? LIMIT ?',
        "    at shop/_card.html:2 `{{ book.author.name }}`",
        "    in shop/list.html:1 `{% include 'shop/_card.html' %}`",
        "    in shop/list.html:1 `{% for book in books %}`",
        "    in shop/views.py:*book_list",
        "Fix it (select_related, prefetch_related), or allow it for this test: "
        '@pytest.mark.lifecycle_allow_n_plus_one("why")',
    ]
    for name in ("test_list", "test_async_client", "test_live_server"):
        result.stdout.fnmatch_lines([f"*_ {name} _*", *block])
    out = result.stdout.str()
    assert out.count("1 N+1 group (threshold 3) in the requests of this test") == 3
    # A test failing by itself keeps its own failure, and nothing is added to it.
    result.stdout.fnmatch_lines(["*_ test_list_failing_on_its_own _*", "*AssertionError: its own failure*"])
    result.stdout.fnmatch_lines(["FAILED test_guarded.py::test_list - Failed: lifecycle N+1 guard: 1 N+1 group*"])


def test_warn_passes_and_lists_it_in_the_summary(guarded):
    result = guarded.run("test_guarded.py", "--lifecycle-n-plus-one=warn")
    result.assert_outcomes(passed=7, failed=1)  # the test failing on its own
    lines = result.stdout.lines
    section = lines[next(i for i, line in enumerate(lines) if "lifecycle N+1 guard" in line) + 1 :]
    heads = [line for line in section if line.startswith("test_guarded.py::")]
    # One block per test, by node id whatever order the tests ran in.
    assert heads == [
        "test_guarded.py::test_async_client: 1 N+1 group (threshold 3)",
        "test_guarded.py::test_list: 1 N+1 group (threshold 3)",
        "test_guarded.py::test_live_server: 1 N+1 group (threshold 3)",
    ]
    result.stdout.fnmatch_lines(
        [
            "test_guarded.py::test_list: 1 N+1 group (threshold 3)",
            "  GET /list/: 4 queries from one call site, 4 distinct parameter sets (fingerprint *)",
            "    at shop/_card.html:2 `{{ book.author.name }}`",
        ]
    )
    assert "Fix it" not in result.stdout.str()


def test_setting_turns_it_on_and_the_option_wins(guarded):
    settings(guarded, N_PLUS_ONE_GUARD="fail")
    guarded.run("test_guarded.py::test_list").assert_outcomes(failed=1)
    guarded.run("test_guarded.py::test_list", "--lifecycle-n-plus-one=off").assert_outcomes(passed=1)
    result = guarded.run("test_guarded.py::test_list", "--lifecycle-n-plus-one=warn")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*lifecycle N+1 guard*", "test_guarded.py::test_list: 1 N+1 group*"])
    settings(guarded, N_PLUS_ONE_GUARD="loud")
    result = guarded.run("test_guarded.py::test_list")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "LIFECYCLE['N_PLUS_ONE_GUARD']: expected one of fail, warn, off or None, got 'loud'"
        in result.stdout.str() + result.stderr.str()
    )


def test_record_blocks_and_replays_inside_guarded_tests(project):
    """Recorded under the guard, the trace files are the same as without it, and they replay."""
    project.run("--lifecycle-n-plus-one=fail").assert_outcomes(passed=5)
    traces = {name: project.trace(name) for name in TRACE_FILES}
    shape = {name: [(s.kind, s.name) for s in trace.spans] for name, trace in traces.items()}
    assert traces["visit.json"].request["requests"] == 2
    assert traces["books.json"].summary["queries"] == 2
    project.run("--lifecycle-n-plus-one=fail", "--lifecycle-record=all").assert_outcomes(passed=5)
    again = {name: [(s.kind, s.name) for s in project.trace(name).spans] for name in TRACE_FILES}
    assert again == shape
    project.run("--lifecycle-record=all").assert_outcomes(passed=5)
    plain = {name: [(s.kind, s.name) for s in project.trace(name).spans] for name in TRACE_FILES}
    assert plain == shape
    project.run("--lifecycle-n-plus-one=fail", "--lifecycle-record=none").assert_outcomes(passed=5)


def test_xdist_summaries_reach_the_controller(guarded):
    result = guarded.run("-p", "xdist", "-n", "2", "--lifecycle-n-plus-one=warn")
    result.assert_outcomes(passed=12, failed=1)
    result.stdout.fnmatch_lines(FIRST_RUN_WRITTEN)
    result.stdout.fnmatch_lines(
        [
            "*lifecycle N+1 guard*",
            "test_guarded.py::test_async_client: 1 N+1 group (threshold 3)",
            "*",
            "test_guarded.py::test_list: 1 N+1 group (threshold 3)",
            "*",
            "test_guarded.py::test_live_server: 1 N+1 group (threshold 3)",
        ]
    )
    failed = guarded.run("-p", "xdist", "-n", "2", "test_guarded.py", "--lifecycle-n-plus-one=fail")
    failed.assert_outcomes(passed=4, failed=4)
    failed.stdout.fnmatch_lines(["*lifecycle N+1 guard: 1 N+1 group (threshold 3) in the requests of this test"])


FREE_CONFTEST = """
import sys


def pytest_sessionfinish(session):
    django = sorted(m for m in sys.modules if m == "django" or m.startswith("django."))
    # (lifecycle.pytest_plugin, the plugin's former path, is the same module when an older install names it.)
    ours = sorted(m for m in sys.modules if m == "lifecycle" or m.startswith("lifecycle."))
    ours = [m for m in ours if m != "lifecycle.pytest_plugin"]
    print(f"\\nLOADED django={django} lifecycle={ours}")
"""


def test_plugin_loads_nothing(pytester, monkeypatch):
    """A project with no Django and no use of lifecycle: the plugin loads neither."""
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    monkeypatch.setenv("PYTHONPATH", ROOT)
    pytester.makeconftest(FREE_CONFTEST)
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = pytester.runpytest_subprocess(*RUN_ARGS[:6], "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "LOADED django=[[][]] lifecycle=[[]'lifecycle', 'lifecycle.replay', 'lifecycle.replay._pytest_state', "
            "'lifecycle.replay.pytest_plugin'[]]"
        ]
    )
