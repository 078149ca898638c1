"""The pytest plugin end to end: a generated project is recorded, its views change, and it is replayed.

Each run of the project is a pytest subprocess; ``recorded_traces`` records the V1 project once and the
tests that start from a recording copy its trace files.
"""

from __future__ import annotations

import json

from django.core.management import call_command

from lifecycle.fingerprint import fingerprint

from .conftest import FIRST_RUN_WRITTEN, TRACE_FILES, VIEWS_TABLE, VIEWS_V1, VIEWS_V2

pytest_plugins = ["pytester"]


def author_fp(project, name="books.json"):
    """The fingerprint of the author lookup (``book.author``) as the recording saw it."""
    sqls = [
        s.attrs["sql"] for s in project.trace(name).spans_of("sql") if 'FROM "shop_author"' in s.attrs["sql"]
    ]
    assert sqls, "the recording has no author query"
    return fingerprint(sqls[0])[0]


def test_first_run_records_then_replays_pass(project):
    first = project.run()
    first.assert_outcomes(passed=5)
    first.stdout.fnmatch_lines(FIRST_RUN_WRITTEN)
    books = project.trace("books.json")
    assert (books.request["method"], books.request["path"], books.status) == ("GET", "/books/", 200)
    assert books.resolver["url_name"] == "books"
    assert books.summary["queries"] == 2
    visit = project.trace("visit.json")
    assert visit.spans[0].kind == "block"
    assert [
        (s.name, s.attrs["status"]) for s in visit.spans if s.kind == "request" and s.parent_id is not None
    ] == [("GET /books/", 200), ("GET /books/fixed/", 200)]
    # A decorated test's block holds the test's own queries (creating the books) too.
    assert project.trace("decorated.json").summary["queries"] == 8 + 2
    before = {name: (project.path / "traces" / name).read_bytes() for name in TRACE_FILES}

    second = project.run()
    second.assert_outcomes(passed=5)
    assert "trace files written" not in second.stdout.str()
    assert {name: (project.path / "traces" / name).read_bytes() for name in TRACE_FILES} == before


def test_view_gaining_an_n_plus_one_fails_and_its_fixed_twin_passes(project, recorded_traces):
    project.recorded(recorded_traces)
    fp = author_fp(project)
    project.views(VIEWS_V2)

    result = project.run("-v")
    result.assert_outcomes(passed=1, failed=4)
    assert "test_pages.py::test_books_fixed PASSED" in result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*TraceMismatch: Replay of traces/books.json (GET /books/) does not match the recording: "
            "2 checks failed (more_queries, duplicates)",
            "*recorded: status 200, 2 queries, 2 templates, *",
            "*replay:   status 200, 5 queries, 2 templates, *",
            "*more_queries: 1 query fingerprint ran more often than recorded (2 queries recorded, 5 now)",
            f"*  {fp}  1 -> 4 times (+3)",
            "*      more: shop/views.py:8 books  1 -> 4 times",
            "*duplicates: 1 new group of repeated queries*",
            f"*  {fp}  4 times, N+1 (threshold 3)",
            "*Queries involved*",
            f'*  {fp}  SELECT "shop_author"."id", "shop_author"."name" FROM "shop_author" '
            'WHERE "shop_author"."id" = ? LIMIT ?',
            "*      issued from shop/views.py:8 books",  # a comprehension is named after its function
            "*Actual trace written to traces/books.actual.json",
            "*--lifecycle-record=all*",
        ]
    )
    # The same regression seen by a block recording, a decorated test and the unittest mixin.
    result.stdout.fnmatch_lines(
        [
            "*Replay of traces/visit.json (block 'visit', 2 requests) does not match the recording: "
            "2 checks failed (more_queries, duplicates)",
            f"*  {fp}  1 -> 4 times (+3)",
            "*Actual trace written to traces/visit.actual.json",
        ]
    )
    result.stdout.fnmatch_lines(["*Replay of traces/decorated.json (block 'test_decorated', 1 request)*"])
    result.stdout.fnmatch_lines(["*Replay of traces/unittest_books.json (GET /books/)*"])
    assert project.trace("books.actual.json").summary["duplicate_groups"][0]["fp"] == fp

    # Fixed again: everything passes, and the stale actual files go away.
    project.views(VIEWS_V1)
    project.run().assert_outcomes(passed=5)
    assert not list((project.path / "traces").glob("*.actual.json"))


def test_changed_template_set_fails(project, recorded_traces):
    project.recorded(recorded_traces)
    project.views(VIEWS_TABLE)
    result = project.run("test_pages.py::test_books", "test_pages.py::test_books_fixed")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*does not match the recording: 1 check failed (templates)",
            "*templates: the set of rendered templates changed",
            "*  now rendered, not in the recording: shop/books_table.html",
            "*  in the recording, no longer rendered: shop/_row.html, shop/books.html",
        ]
    )


BROKEN_TESTS = """
import pytest


@pytest.mark.parametrize("name", ["not_json", "bad_kind", "bad_version", "list"])
def test_broken(lifecycle_replay, name):
    lifecycle_replay(f"traces/{name}.json")
"""


def test_malformed_trace_file_fails_with_a_clear_message(project, recorded_traces):
    project.recorded(recorded_traces)
    good = project.raw("books.json")
    project.write("traces/not_json.json", "{not json")
    project.write("traces/bad_kind.json", json.dumps({**good, "spans": [{**good["spans"][0], "kind": 3}]}))
    project.write("traces/bad_version.json", json.dumps({**good, "version": 7}))
    project.write("traces/list.json", "[]")
    project.write("test_broken.py", BROKEN_TESTS)
    result = project.run("test_broken.py")
    result.assert_outcomes(failed=4)
    for line in (  # each test's failure, in whatever order they ran
        "*MalformedTrace: traces/not_json.json: not valid JSON (*",
        "*MalformedTrace: traces/bad_kind.json: field 'spans[[]0[]].kind': expected a string, got 3",
        "*MalformedTrace: traces/bad_version.json: field 'version': expected 1, got 7 "
        "(this version of lifecycle reads trace format version 1)",
        "*MalformedTrace: traces/list.json: expected an object, got an array of 0",
    ):
        result.stdout.fnmatch_lines([line])
    out = result.stdout.str()
    # Each failure points at the test's own line, not into our internals.
    assert "lifecycle/trace.py" not in out and "lifecycle/replay/" not in out
    assert out.count('lifecycle_replay(f"traces/{name}.json")') == 4


def test_mode_none_fails_on_a_missing_file(project):
    # CI=true implies the same mode (tests/replay/test_replay.py: test_record_mode_precedence).
    result = project.run("test_pages.py::test_books", "test_pages.py::test_visit", "--lifecycle-record=none")
    result.assert_outcomes(failed=2)
    for name in ("books", "visit"):
        result.stdout.fnmatch_lines(
            [
                f"*ReplayError: traces/{name}.json: no recorded trace, and the record mode is 'none' "
                "(CI=true implies it): nothing to compare with. Record it locally*",
            ]
        )
    assert not (project.path / "traces").exists()


def test_mode_all_rewrites_after_an_intended_change(project, recorded_traces):
    project.recorded(recorded_traces)
    project.views(VIEWS_V2)
    result = project.run("--lifecycle-record=all")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["traces/books.json (GET /books/): rewritten (record mode all)"])
    assert project.trace("books.json").summary["queries"] == 5
    assert project.trace("books.json").summary["n_plus_one"] == 1


def test_maketest_writes_a_test_that_runs(project, recorded_traces, tmp_path):
    project.recorded(recorded_traces)
    out = project.path / "tests" / "test_replay_books.py"
    call_command(
        "lifecycle_maketest", str(project.path / "traces" / "books.json"), "-o", str(out), verbosity=0
    )
    project.write(
        "tests/conftest.py",
        "import pytest\n\n\n@pytest.fixture(autouse=True)\n"
        "def books(db):\n    from test_pages import make_books\n    make_books()\n",
    )
    text = out.read_text()
    assert 'TRACE = Path(__file__).parent / ".." / "traces" / "books.json"' in text
    assert "def test_replay_books(lifecycle_replay, page_data):" in text
    # The conftest creates the books; the user then deletes page_data's pytest.fail line.
    start = text.index("    pytest.fail(")
    out.write_text(text[:start] + "    pass\n" + text[text.index("    )\n", start) + len("    )\n"):])
    project.run("tests/test_replay_books.py").assert_outcomes(passed=1)
