"""Recordings meant for review (lifecycle.replay.file.write_recording): re-recording an unchanged page
rewrites nothing, a changed page changes the lines of the change, and the file is still a trace.

Each page is recorded twice through the real recorder (lifecycle.replay with record mode ``all`` into a
scratch file), with the demo data deleted and seeded again in between: the second run sees other
primary keys, as a PostgreSQL test database does after its sequences moved on."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import jsonschema
import orjson
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.http import HttpResponse
from django.urls import path, reverse

import lifecycle
from demo_site.shop.models import Author, Book, Review, Tag
from lifecycle.replay import replay_trace
from lifecycle.replay.file import FIXED_STARTED_AT, write_recording
from lifecycle.trace import Trace

SCHEMA = json.loads((Path(__file__).parents[2] / "lifecycle" / "schema" / "trace-v1.json").read_text())

# This module is the URLconf of the tests marked ``urls``: a page whose queries the test chooses.
EXTRA_QUERY = {"on": False}


def _authors(request):
    names = list(Author.objects.order_by("name").values_list("name", flat=True))
    if EXTRA_QUERY["on"]:
        Tag.objects.filter(name__startswith="a").count()
    return HttpResponse(f"{len(names)} authors")


urlpatterns = [path("authors/", _authors, name="authors")]


def _reseed() -> None:
    """New primary keys for the same data (and a new id for the same user)."""
    Review.objects.all().delete()
    Book.objects.all().delete()
    Author.objects.all().delete()
    Tag.objects.all().delete()
    call_command("seed_demo", verbosity=0)
    User = get_user_model()
    User.objects.filter(username="alice").delete()
    User.objects.create_user("alice", password="pw")


def _record(client, tmp_path: Path, url: str, **options) -> Trace:
    scratch = tmp_path / "scratch" / "page.json"
    return replay_trace(scratch, client, url=url, record_mode="all", **options).trace


def _first_book_url() -> str:
    return reverse("book-detail", args=[Book.objects.order_by("pk").first().pk])


PAGES = {
    "book_list": lambda: "/books/",  # an N+1 of 20 queries
    "book_detail": _first_book_url,  # the primary key in the path, the resolver and the parameters
    "transaction": lambda: "/transaction/",  # savepoints, an IntegrityError naming a key
    "cards": lambda: "/cards/",
    "api": lambda: "/api/books/",
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_re_recording_an_unchanged_page_rewrites_nothing(page, seeded, client, tmp_path):
    _reseed()
    file = tmp_path / "traces" / f"{page}.json"
    assert write_recording(_record(client, tmp_path, PAGES[page](), user="alice"), file, None) is True
    first = file.read_bytes()
    mtime = file.stat().st_mtime_ns
    _reseed()
    second = _record(client, tmp_path, PAGES[page](), user="alice")
    assert write_recording(second, file, Trace.load(file)) is False
    assert file.read_bytes() == first
    assert file.stat().st_mtime_ns == mtime


def test_the_noise_is_in_the_recorded_traces(seeded, client, tmp_path):
    # What the test above takes out: without write_recording the two recordings differ in ids, times,
    # keys and savepoint names.
    _reseed()
    a = _record(client, tmp_path, "/transaction/", user="alice").to_dict()
    _reseed()
    b = _record(client, tmp_path, "/transaction/", user="alice").to_dict()
    assert a["id"] != b["id"] and a["duration_ns"] != b["duration_ns"]
    assert a["request"]["user"]["id"] != b["request"]["user"]["id"]
    assert [s["attrs"].get("params") for s in a["spans"]] != [s["attrs"].get("params") for s in b["spans"]]
    assert [s["name"] for s in a["spans"]] != [s["name"] for s in b["spans"]]  # SAVEPOINT "s<thread>_x<n>"


def test_a_block_recorded_twice_rewrites_nothing(seeded, client, tmp_path):
    file = tmp_path / "visit.json"
    for run in range(2):
        _reseed()
        block = lifecycle.record(tmp_path / "scratch.json", record_mode="all")
        with block:
            client.get("/books/")
            client.get(_first_book_url())
            # Two loops of as many queries (two N+1 groups of one count: ordered by their time).
            for i in range(4):
                Author.objects.create(name=f"Guest {i}")
                Tag.objects.create(name=f"guest-{i}")
        Author.objects.filter(name__startswith="Guest ").delete()
        Tag.objects.filter(name__startswith="guest-").delete()
        trace = block.result.trace
        groups = trace.summary["n_plus_one_groups"]
        loops = [i for i, g in enumerate(groups) if g["count"] == 4]
        assert len(loops) == 2
        if run == 1:  # as a run in which the other loop happened to take longer orders them
            groups[loops[0]], groups[loops[1]] = groups[loops[1]], groups[loops[0]]
        previous = Trace.load(file) if file.exists() else None
        assert write_recording(trace, file, previous) is (run == 0)


def _authors(client, tmp_path: Path, *, extra: bool) -> Trace:
    """A trace of /authors/, with or without its extra query."""
    EXTRA_QUERY["on"] = extra
    try:
        return _record(client, tmp_path, "/authors/")
    finally:
        EXTRA_QUERY["on"] = False


def _lines(file: Path) -> list[str]:
    # A span added after the last one also puts a comma after it: that is not a change to review.
    return [line.rstrip(",") for line in file.read_text().splitlines()]


@pytest.mark.urls(__name__)
def test_an_added_query_changes_only_its_lines(seeded, client, tmp_path):
    file = tmp_path / "authors.json"
    write_recording(_authors(client, tmp_path, extra=False), file, None)
    before = _lines(file)
    assert write_recording(_authors(client, tmp_path, extra=True), file, Trace.load(file)) is True
    after = _lines(file)
    removed = [line for line in difflib.ndiff(before, after) if line.startswith("- ")]
    added = [line for line in difflib.ndiff(before, after) if line.startswith("+ ")]
    new_span = [line for line in added if '"kind": "sql"' in line]
    assert len(new_span) == 1 and "shop_tag" in new_span[0]
    # The new span, the trace and request durations, the summary's counts and times: nothing else.
    assert len(added) == len(removed) + 1
    assert len(added) <= 8, "\n".join(added)
    assert not any('"kind": "middleware"' in line or '"kind": "view"' in line for line in added)


@pytest.mark.urls(__name__)
def test_a_removed_query_changes_only_its_lines(seeded, client, tmp_path):
    file = tmp_path / "authors.json"
    write_recording(_authors(client, tmp_path, extra=True), file, None)
    before = _lines(file)
    write_recording(_authors(client, tmp_path, extra=False), file, Trace.load(file))
    diff = [line for line in difflib.ndiff(before, _lines(file)) if line[:2] in ("- ", "+ ")]
    gone = [line for line in diff if line.startswith("- ") and '"kind": "sql"' in line]
    assert len(gone) == 1 and "shop_tag" in gone[0]
    assert len(diff) <= 15, "\n".join(diff)


def test_another_path_number_is_a_change(seeded, client, tmp_path):
    # /t/queries/3/ -> /t/queries/4/: the number is not a key the page looked up, so it is written.
    file = tmp_path / "queries.json"
    write_recording(_record(client, tmp_path, "/t/queries/3/"), file, None)
    first_id = Trace.load(file).id
    write_recording(_record(client, tmp_path, "/t/queries/4/"), file, Trace.load(file))
    trace = Trace.load(file)
    assert trace.id == first_id
    assert trace.request["path"] == "/t/queries/4/" and trace.spans[0].name == "GET /t/queries/4/"
    assert trace.resolver["kwargs"] == {"n": "4"}


def test_the_file_is_a_trace_that_replays(seeded, client, tmp_path):
    file = tmp_path / "book_list.json"
    trace = _record(client, tmp_path, "/books/")
    write_recording(trace, file, None)
    data = orjson.loads(file.read_bytes())
    jsonschema.validate(data, SCHEMA)
    loaded = Trace.load(file)
    assert [(s.kind, s.name, s.attrs) for s in loaded.spans] == [(s.kind, s.name, s.attrs) for s in trace.spans]
    assert loaded.duration_ns == trace.duration_ns  # what the timing check compares
    assert loaded.summary["duplicate_groups"][0]["count"] == 20
    result = replay_trace(file, client, record_mode="none")  # raises TraceMismatch on a difference
    assert result.comparison is not None and result.comparison.ok
    # Replayed and re-recorded: the file keeps its bytes.
    assert write_recording(result.trace, file, loaded) is False


def test_layout_one_span_per_line_and_a_fixed_key_order(seeded, client, tmp_path):
    file = tmp_path / "cards.json"
    trace = _record(client, tmp_path, "/cards/")
    write_recording(trace, file, None)
    text = file.read_text()
    lines = text.splitlines()
    top = [line[2:].split(":")[0] for line in lines if line.startswith('  "')]
    assert top == ['"format"', '"version"', '"id"', '"started_at"', '"duration_ns"', '"request"', '"response"',
                   '"resolver"', '"spans"', '"summary"', '"dropped"', '"kind"', '"kinds"']
    span_lines = [line for line in lines if line.startswith('    {"id": ')]
    assert len(span_lines) == len(trace.spans)
    for line in span_lines:
        keys = list(json.loads(line.rstrip(",")))
        assert keys == ["id", "parent_id", "kind", "name", "start_ns", "duration_ns", "attrs"]
    group_lines = [line for line in lines if line.startswith('      {"count": ')]
    summary = trace.summary
    assert len(group_lines) == sum(len(summary[k]) for k in ("duplicate_groups", "similar_groups",
                                                             "n_plus_one_groups"))
    # The same trace written twice, or from a copy whose dicts were built in another order: same bytes.
    shuffled = Trace.from_dict(json.loads(json.dumps(trace.to_dict(), sort_keys=True)))
    other = tmp_path / "again" / "cards.json"
    write_recording(shuffled, other, None)
    assert other.read_bytes() == file.read_bytes()
    assert text.endswith("}\n")


def test_a_new_recording_has_no_run_dependent_id_or_time(seeded, client, tmp_path):
    one, two = tmp_path / "a" / "transaction.json", tmp_path / "b" / "transaction.json"
    write_recording(_record(client, tmp_path, "/transaction/"), one, None)
    write_recording(_record(client, tmp_path, "/transaction/"), two, None)
    a, b = Trace.load(one), Trace.load(two)
    assert a.id == b.id and len(a.id) == 16
    assert a.started_at == b.started_at == FIXED_STARTED_AT
    savepoints = [s.name for s in a.spans if "SAVEPOINT" in s.name]
    assert savepoints and savepoints == [s.name for s in b.spans if "SAVEPOINT" in s.name]
    assert savepoints[0] == 'SAVEPOINT "s0_x1"'
    assert a.duration_ns and a.duration_ns == a.spans[0].duration_ns  # the timing check's number


def test_a_changed_page_gets_the_new_duration(seeded, client, tmp_path):
    # The timing check compares with the recorded duration: a page that changed is timed afresh.
    file = tmp_path / "queries.json"
    write_recording(_record(client, tmp_path, "/t/queries/3/"), file, None)
    old = Trace.load(file)
    new = _record(client, tmp_path, "/t/queries/4/")
    write_recording(new, file, old)
    written = Trace.load(file)
    assert written.duration_ns == new.duration_ns == written.spans[0].duration_ns
    assert written.id == old.id and written.started_at == old.started_at


def test_an_actual_file_can_carry_the_new_timings(seeded, client, tmp_path):
    # For the actual file of a failed timing check: this run's numbers, the recording's ids and noise.
    file, actual = tmp_path / "books.json", tmp_path / "books.actual.json"
    write_recording(_record(client, tmp_path, "/books/"), file, None)
    recorded = Trace.load(file)
    new = _record(client, tmp_path, "/books/")
    write_recording(new, actual, recorded, keep_timings=False)
    written = Trace.load(actual)
    assert written.duration_ns == new.duration_ns != recorded.duration_ns
    assert [s.duration_ns for s in written.spans] == [s.duration_ns for s in new.spans]
    assert written.id == recorded.id and [s.id for s in written.spans] == [s.id for s in recorded.spans]
    assert write_recording(new, file, recorded) is False  # kept timings: the recording is unchanged
