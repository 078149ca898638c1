"""``lifecycle_maketest`` writes a test that fails until the page's data exists, never one that passes on an
empty test database."""

from __future__ import annotations

from django.core.management import call_command

pytest_plugins = ["pytester"]


def test_the_written_test_fails_until_the_user_creates_the_data(project, recorded_traces):
    project.recorded(recorded_traces)
    out = project.path / "tests" / "test_replay_books.py"
    call_command("lifecycle_maketest", str(project.path / "traces" / "books.json"), "-o", str(out), verbosity=0)
    text = out.read_text()
    assert "def test_replay_books(lifecycle_replay, page_data):" in text
    assert "The recording read shop_book (1 query), shop_author (1 query)." in text

    result = project.run("tests/test_replay_books.py")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*create the data this page needs in the page_data fixture of *tests/test_replay_books.py (the "
        "recording read shop_book, shop_author), then delete this line*",
    ])

    # The user creates the rows and deletes the pytest.fail call: the replay runs and passes.
    start = text.index("    pytest.fail(")
    end = text.index("    )\n", start) + len("    )\n")
    out.write_text(text[:start] + "    from test_pages import make_books\n\n    make_books()\n" + text[end:])
    project.run("tests/test_replay_books.py").assert_outcomes(passed=1)


def test_a_page_that_reads_no_table_needs_no_data(tmp_path, db):
    from lifecycle.replay import replay_trace

    trace = tmp_path / "static.json"
    replay_trace(trace, url="/t/queries/0/")
    out = tmp_path / "test_static.py"
    call_command("lifecycle_maketest", str(trace), "-o", str(out), verbosity=0)
    text = out.read_text()
    assert "page_data" not in text and "def test_replay_static(lifecycle_replay):" in text
