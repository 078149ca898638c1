"""The N+1 rule (lifecycle.nplusone) on real requests: each shape a real site has is flagged, with the
template line and the Python frames that ran it; the shapes that are not N+1 are not."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings

from demo_site.shop.models import Author, Book, Review
from lifecycle import nplusone
from lifecycle.conf import REDACTED
from lifecycle.trace import Span
from tests import nplusone_app
from tests.conftest import last_trace

pytestmark = [pytest.mark.urls("tests.nplusone_app"), pytest.mark.sql_backends]

REL = "tests/testapp/templates/nplusone/"
AUTHORS = 3
BOOKS_EACH = 2


@pytest.fixture(autouse=True)
def tags():
    base = settings.TEMPLATES[0]
    options = {**base.get("OPTIONS", {}), "libraries": {"nplusone_cards": "tests.nplusone_app"}}
    with override_settings(TEMPLATES=[{**base, "OPTIONS": options}]):
        yield


@pytest.fixture
def books(db):
    for a in range(AUTHORS):
        author = Author.objects.create(name=f"np-author-{a}")
        for b in range(BOOKS_EACH):
            book = Book.objects.create(title=f"np-book-{a}-{b}", author=author,
                                       published=datetime.date(2020, 1, 1), price=1)
            Review.objects.create(book=book, reviewer="r", rating=3, text="ok")


def line(template: str, number: int, source: str) -> dict:
    return {"template": f"nplusone/{template}", "file": REL + template, "line": number, "source": source}


def flagged(path: str) -> list[dict]:
    assert Client().get(path).status_code == 200
    summary = last_trace().summary
    assert summary["n_plus_one"] == len(summary["n_plus_one_groups"])
    return summary["n_plus_one_groups"]


def author_group(groups: list[dict]) -> dict:
    [group] = [g for g in groups if "shop_author" in g["fingerprint"]]
    return group


def test_a_for_whose_body_includes_a_card_template(books):
    group = author_group(flagged("/np/cards/"))
    assert group["count"] == AUTHORS * BOOKS_EACH
    assert group["distinct_params"] == AUTHORS
    assert group["template_stack"] == [
        line("_card.html", 3, "{{ book.author.name }}"),
        line("cards.html", 3, '{% include "nplusone/_card.html" %}'),
        line("cards.html", 2, "{% for book in books %}"),
    ]
    assert group["stack"][0][0] == "tests/nplusone_app.py"
    # Each query has its own include span as parent: the old "same parent" rule missed this.
    by_id = {s.id: s for s in last_trace().spans}
    assert len({by_id[i].parent_id for i in group["span_ids"]}) == group["count"]
    [dup] = [g for g in last_trace().summary["duplicate_groups"] if g["fp"] == group["fp"]]
    assert dup["n_plus_one"] is True


def test_an_inclusion_tag_in_a_loop(books):
    group = author_group(flagged("/np/tagged/"))
    assert group["count"] == AUTHORS * BOOKS_EACH
    assert group["template_stack"][:2] == [
        line("_card.html", 3, "{{ book.author.name }}"),
        line("tagged.html", 4, "{% book_card book %}"),
    ]


def test_a_python_loop_in_the_view(books):
    group = author_group(flagged("/np/loop/"))
    assert group["count"] == AUTHORS * BOOKS_EACH
    assert group["template_stack"] == []
    file, number, func = group["stack"][0]
    assert (file, func) == ("tests/nplusone_app.py", "python_loop")
    assert "book.author.name" in Path(nplusone_app.__file__).read_text().splitlines()[number - 1]


def test_a_model_property(books, monkeypatch):
    monkeypatch.setattr(Book, "np_author_name", property(nplusone_app.author_name), raising=False)
    group = author_group(flagged("/np/property/"))
    assert group["count"] == AUTHORS * BOOKS_EACH
    assert group["stack"][0][2] == "author_name"
    assert nplusone.chain(group)[0].startswith("tests/nplusone_app.py:")


def test_a_serializer(books):
    group = author_group(flagged("/np/serializer/"))
    assert group["count"] == AUTHORS * BOOKS_EACH
    assert group["stack"][0][2] == "data"


def test_nested_loops_flag_both_levels(books):
    groups = flagged("/np/nested/")
    by_table = {("shop_review" if "shop_review" in g["fingerprint"] else "shop_book"): g for g in groups}
    assert set(by_table) == {"shop_book", "shop_review"}
    assert by_table["shop_book"]["count"] == AUTHORS
    assert by_table["shop_book"]["template_stack"][0] == line("nested.html", 3, "{% for book in author.books.all %}")
    assert by_table["shop_review"]["count"] == AUTHORS * BOOKS_EACH
    assert by_table["shop_review"]["template_stack"][0] == line(
        "nested.html", 4, "{{ book.reviews.count }}")


def test_the_same_parameters_repeated_are_a_duplicate_not_an_n_plus_one(books):
    assert flagged("/np/same/") == []
    [group] = last_trace().summary["duplicate_groups"]
    assert group["count"] == 5
    assert group["identical"] == 4
    assert group["n_plus_one"] is False


@pytest.fixture
def users(db):
    from django.contrib.auth.models import User

    for i in range(4):
        User.objects.create_user(f"np-user-{i}", password=f"pw-{i}-not-shown")


def test_a_loop_over_users_is_an_n_plus_one_though_their_parameters_are_redacted(users):
    # auth_user's statements name its password column (REDACT_SQL_PATTERNS): every parameter is shown as
    # ********, yet four users looked up one by one are four different lookups.
    [group] = flagged("/np/owners/")
    assert "auth_user" in group["fingerprint"]
    assert group["count"] == 4
    assert group["distinct_params"] == 4
    lookups = [s for s in last_trace().spans if s.kind == "sql" and s.id in group["span_ids"]]
    assert {tuple(s.attrs["params"]) for s in lookups} == {(REDACTED,)}
    assert sorted(s.attrs["params_id"] for s in lookups) == sorted(set(s.attrs["params_id"] for s in lookups))
    [duplicate] = [g for g in last_trace().summary["duplicate_groups"] if g["fp"] == group["fp"]]
    assert (duplicate["identical"], duplicate["n_plus_one"]) == (0, True)


def test_one_user_looked_up_again_and_again_is_a_duplicate(users):
    assert flagged("/np/owner-again/") == []
    [group] = [g for g in last_trace().summary["duplicate_groups"] if "auth_user" in g["fingerprint"]]
    assert (group["count"], group["identical"], group["n_plus_one"]) == (5, 4, False)


def test_the_numbers_of_redacted_parameters_say_nothing_of_the_values(users):
    from django.contrib.auth.models import User

    assert Client().get("/np/owners/").status_code == 200
    trace = last_trace()
    # Numbered from 0 in the order first seen, whatever the primary keys are; only on redacted statements.
    assert [s.attrs["params_id"] for s in trace.spans if "params_id" in s.attrs] == [0, 1, 2, 3]
    assert all(s.attrs["params"] == [REDACTED] for s in trace.spans if "params_id" in s.attrs)
    assert not any("params_id" in s.attrs for s in trace.spans if "password" not in s.attrs.get("sql", "password"))
    data = trace.to_json()
    for pk in User.objects.values_list("pk", flat=True):
        assert f'"params":["{pk}"]'.encode() not in data


def source_line(number: int) -> str:
    return Path(nplusone_app.__file__).read_text().splitlines()[number - 1]


def test_an_async_views_queries_name_the_lines_that_awaited_them(books):
    # The async ORM runs each query in a sync_to_async worker thread; the user frames are the view's.
    assert flagged("/np/async-lookups/") == []
    queries = [s for s in last_trace().spans if s.kind == "sql"]
    assert len(queries) == 4
    lines = []
    for span in queries:
        # The first query runs in a comprehension (its own frame before Python 3.12): chain() names the view.
        where, func = nplusone.chain(span.attrs)[0].split(" ")
        file, number = where.split(":")
        assert (file, func) == ("tests/nplusone_app.py", "async_lookups")
        lines.append(source_line(int(number)).strip())
    assert lines[0].startswith("pks = [pk async for pk in")
    assert [line.split(" = ")[0] for line in lines[1:]] == ["first", "second", "third"]


async def closed_worker_connections():
    """Close the connections the view's queries opened in asgiref's worker thread (the one that runs
    thread-sensitive calls made outside a request executor): the test client keeps them open, and PostgreSQL
    could not drop the test database at the end."""
    from asgiref.sync import sync_to_async
    from django.db import connections

    await sync_to_async(connections.close_all)()


@pytest.mark.django_db(transaction=True)
async def test_under_asgi_the_worker_threads_queries_name_the_awaiting_lines():
    # Served by Django's ASGI handler on a running loop: sync_to_async runs each query in a worker thread of
    # the request's executor, not in a thread blocked in async_to_sync.
    from django.test import AsyncClient

    for i in range(3):
        await Author.objects.acreate(name=f"np-async-{i}")
    try:
        assert (await AsyncClient().get("/np/async-lookups/")).status_code == 200
    finally:
        await closed_worker_connections()
    queries = [s for s in last_trace().spans if s.kind == "sql"]
    assert len(queries) == 4
    chains = [nplusone.chain(span.attrs)[0] for span in queries]
    assert all(c.startswith("tests/nplusone_app.py:") and c.endswith(" async_lookups") for c in chains)
    assert len(set(chains)) == 4
    assert last_trace().summary["n_plus_one"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_query_in_a_gathered_task_names_no_frame_from_outside_the_request():
    # A task started by asyncio.gather is awaited by nobody on the stack: its walk must end at the event
    # loop, not go on to what started the loop (this test's own frame, a user file, runs asyncio.run).
    import asyncio

    from django.test import AsyncClient

    for i in range(3):
        Author.objects.create(name=f"np-gather-{i}")

    async def fetch():
        try:
            return await AsyncClient().get("/np/async-gather/")
        finally:
            await closed_worker_connections()

    assert asyncio.run(fetch()).status_code == 200
    queries = [s for s in last_trace().spans if s.kind == "sql"]
    assert len(queries) == 3
    assert {frame[0] for span in queries for frame in span.attrs["stack"]} == {"tests/nplusone_app.py"}
    assert [s.attrs["stack"][0][2] for s in queries if s.attrs["stack"]].count("author_name_of") == 1


def test_an_await_in_an_async_for_is_an_n_plus_one_at_its_line(books):
    group = author_group(flagged("/np/async-loop/"))
    assert group["count"] == AUTHORS * BOOKS_EACH
    file, number, func = group["stack"][0]
    assert (file, func) == ("tests/nplusone_app.py", "async_loop")
    assert "await Author.objects.aget(pk=book.author_id)" in source_line(number)


def test_a_few_repeats_below_the_threshold(books):
    assert flagged("/np/two/") == []
    assert [g["count"] for g in last_trace().summary["duplicate_groups"]] == [2]


def test_the_same_query_once_per_request_in_a_block_is_not_an_n_plus_one(books, tmp_path):
    import lifecycle

    pks = list(Book.objects.values_list("pk", flat=True))
    client = Client()
    with lifecycle.record(tmp_path / "block.json", record_mode="all") as block:
        for pk in pks:
            assert client.get(f"/np/book/{pk}/").status_code == 200
    summary = block.result.trace.summary
    [group] = summary["duplicate_groups"]
    assert group["count"] == len(pks)
    assert summary["n_plus_one_groups"] == [] and summary["n_plus_one"] == 0


def test_a_block_flags_an_n_plus_one_inside_one_of_its_requests(books, tmp_path):
    import lifecycle

    client = Client()
    with lifecycle.record(tmp_path / "block.json", record_mode="all") as block:
        client.get(f"/np/book/{Book.objects.first().pk}/")
        client.get("/np/loop/")
    [group] = block.result.trace.summary["n_plus_one_groups"]
    by_id = {s.id: s for s in block.result.trace.spans}
    assert by_id[group["request_span_id"]].attrs["path"] == "/np/loop/"


def test_one_fingerprint_from_several_call_sites_lists_each_with_its_count(books):
    groups = flagged("/np/sites/")
    n = AUTHORS * BOOKS_EACH
    # One N+1 group per call site: the view's loop and the card template's line.
    assert sorted((g["count"], bool(g["template_stack"])) for g in groups if "shop_author" in g["fingerprint"]) == [
        (n, False), (n, True)]
    [dup] = [g for g in last_trace().summary["duplicate_groups"] if "shop_author" in g["fingerprint"]]
    assert dup["count"] == 2 * n and dup["n_plus_one"] is True
    chains = sorted((site["count"], nplusone.chain_text(site)) for site in dup["sites"])
    assert [count for count, _ in chains] == [n, n]
    assert chains[0][1].startswith("nplusone/_card.html:3 `{{ book.author.name }}` in nplusone/cards.html:3 ")
    assert chains[1][1].startswith("tests/nplusone_app.py:")


# -- the rule on hand-built spans ----------------------------------------------------------------------


def sql(i: int, parent: int, params, *, line: int = 7, file: str = "shop/views.py") -> Span:
    return Span(i, parent, "sql", "SELECT", i, 1, {"sql": "SELECT 1 WHERE id = %s", "params": params,
                                                   "stack": [[file, line, "view"]]})


def test_the_rule_groups_by_call_site_not_by_parent():
    spans = [Span(0, None, "request", "GET /", 0, 100, {})]
    spans += [Span(i, 0, "template", "_card.html", i, 1, {}) for i in range(1, 5)]
    spans += [sql(10 + i, i, [i]) for i in range(1, 5)]
    [group] = nplusone.find(spans, lambda s: "q", 3)
    assert group.count == 4 and group.site == ("p", "shop/views.py", 7)


def test_two_call_sites_are_two_groups():
    spans = [Span(0, None, "request", "GET /", 0, 100, {})]
    spans += [sql(i, 0, [i], line=7 + i % 2) for i in range(1, 5)]
    assert nplusone.find(spans, lambda s: "q", 3) == []
    assert len(nplusone.find(spans, lambda s: "q", 2)) == 2


def test_the_chain_reads_template_lines_then_python_frames():
    attrs = {
        "template_stack": [
            {"template": "shop/_card.html", "file": "shop/templates/shop/_card.html", "line": 7,
             "source": "{{ card.image.url }}"},
            {"template": "shop/book_list.html", "file": "x", "line": 12, "source": "{% include %}"},
        ],
        "stack": [["demo_site/shop/views.py", 45, "book_list"]],
    }
    assert nplusone.chain_text(attrs) == (
        "shop/_card.html:7 `{{ card.image.url }}` in shop/book_list.html:12 `{% include %}` in "
        "demo_site/shop/views.py:45 book_list"
    )
    # A comprehension is named after its function (Python 3.12 inlines it: same line, the function's name).
    assert nplusone.chain_text({"stack": [["v.py", 8, "<listcomp>"], ["v.py", 8, "books"]]}) == "v.py:8 books"


def test_the_replay_names_the_new_caller_of_a_grown_query_with_its_template_lines(books, tmp_path, monkeypatch):
    from lifecycle.replay import TraceMismatch, replay_trace

    path = tmp_path / "grow.json"
    replay_trace(path, url="/np/grow/", record_mode="once")
    monkeypatch.setitem(nplusone_app.GROWN, "cards", True)
    with pytest.raises(TraceMismatch) as failure:
        replay_trace(path, record_mode="once")
    message = str(failure.value)
    n = AUTHORS * BOOKS_EACH
    view_line = next(i for i, text in enumerate(Path(nplusone_app.__file__).read_text().splitlines(), 1)
                     if 'render(request, "nplusone/cards.html", {"books": books})' in text)
    card = ('nplusone/_card.html:3 `{{ book.author.name }}` in nplusone/cards.html:3 '
            '`{% include "nplusone/_card.html" %}` in nplusone/cards.html:2 `{% for book in books %}` in '
            f"tests/nplusone_app.py:{view_line} grow")
    assert f"1 -> {n} times (+{n - 1})\n      new caller: {card}  0 -> {n} times\n" in message
    assert f"  {n} times, N+1 (threshold 3)" in message
