"""The comparison of two traces (lifecycle.replay.compare): profiles, each check, portable keys, the message."""

from __future__ import annotations

import re

import pytest

from lifecycle.fingerprint import fingerprint
from lifecycle.replay.compare import CHECKS, compare, format_failure, profile
from lifecycle.replay.sql import portable_key, portable_text
from lifecycle.trace import Span, Trace

SQLITE_BOOKS = (
    'SELECT "shop_book"."id", "shop_book"."title", "shop_book"."author_id", "shop_book"."published", '
    '"shop_book"."price", COUNT("shop_review"."id") AS "review_count" FROM "shop_book" LEFT OUTER JOIN '
    '"shop_review" ON ("shop_book"."id" = "shop_review"."book_id") '
    'GROUP BY "shop_book"."id", "shop_book"."title", "shop_book"."author_id", "shop_book"."published", '
    '"shop_book"."price" ORDER BY "shop_book"."title" ASC'
)
POSTGRES_BOOKS = (
    'SELECT "shop_book"."id", "shop_book"."title", "shop_book"."author_id", "shop_book"."published", '
    '"shop_book"."price", COUNT("shop_review"."id") AS "review_count" FROM "shop_book" LEFT OUTER JOIN '
    '"shop_review" ON ("shop_book"."id" = "shop_review"."book_id") GROUP BY "shop_book"."id" '
    'ORDER BY "shop_book"."title" ASC'
)
AUTHOR = 'SELECT "shop_author"."id", "shop_author"."name" FROM "shop_author" WHERE "shop_author"."id" = %s LIMIT 21'
DEFAULTS = dict(CHECKS)


def make(
    *sqls: str,
    templates=("page.html",),
    status=200,
    view="shop.views.books",
    url_name="books",
    vendor="sqlite",
    duration_ns=5_000_000,
    frame=("shop/views.py", 8, "books"),
) -> Trace:
    spans = [
        Span(0, None, "request", "GET /books/", 0, duration_ns, {"method": "GET", "path": "/books/"}),
        Span(1, 0, "resolve", "books/", 10, 10, {"view": view, "url_name": url_name, "namespace": ""}),
        Span(2, 0, "view", view, 20, 100, {"view": view}),
    ]
    for name in templates:
        spans.append(Span(len(spans), 2, "template", name, 30, 10, {"template": name, "via": "render"}))
    for sql in sqls:
        spans.append(
            Span(
                len(spans),
                2,
                "sql",
                sql[:120],
                40,
                5,
                {"sql": sql, "vendor": vendor, "stack": [list(frame)], "fp": fingerprint(sql)[0],
                 "params": [len(spans)]},
            )
        )
    return Trace(
        "0123456789abcdef",
        "2026-01-01T00:00:00.000000Z",
        duration_ns,
        request={"method": "GET", "path": "/books/", "query": ""},
        response={"status": status},
        resolver={"view": view, "url_name": url_name},
        spans=spans,
    )


def failed(old: Trace, new: Trace, **checks) -> list[str]:
    return [f.check for f in compare(old, new, checks={**DEFAULTS, **checks}).failures]


def test_identical_traces_pass_every_check():
    trace = make(SQLITE_BOOKS, AUTHOR)
    assert failed(trace, make(SQLITE_BOOKS, AUTHOR), query_count=True, timing=True) == []


def test_fewer_queries_pass_more_fail():
    old = make(SQLITE_BOOKS, AUTHOR, AUTHOR)
    # A removed query with nothing new in its place: suspected missing data, never a quiet pass.
    assert failed(old, make(SQLITE_BOOKS)) == ["fewer_queries"]
    assert failed(old, make(SQLITE_BOOKS), fewer_queries=False) == []
    assert failed(old, make(SQLITE_BOOKS, AUTHOR, AUTHOR)) == []
    # Twice is repeated, three times from one line with distinct parameters is an N+1 (threshold 3).
    assert failed(old, make(SQLITE_BOOKS, AUTHOR, AUTHOR, AUTHOR)) == ["more_queries", "duplicates"]
    assert failed(make(SQLITE_BOOKS, AUTHOR), make(SQLITE_BOOKS, AUTHOR, AUTHOR)) == [
        "more_queries",
        "duplicates",
    ]
    assert failed(make(SQLITE_BOOKS), make(SQLITE_BOOKS, AUTHOR, AUTHOR)) == ["new_queries", "duplicates"]
    assert (
        failed(make(SQLITE_BOOKS), make(SQLITE_BOOKS, AUTHOR, AUTHOR), new_queries=False, duplicates=False)
        == []
    )


def test_literal_values_do_not_matter():
    assert failed(make(AUTHOR), make(AUTHOR.replace("%s", "7"))) == []


def test_view_status_and_templates():
    base = make(AUTHOR)
    assert failed(base, make(AUTHOR, view="shop.views.other")) == ["view"]
    assert failed(base, make(AUTHOR, url_name="other")) == ["view"]
    assert failed(base, make(AUTHOR, status=404)) == ["status"]
    assert failed(base, make(AUTHOR, templates=("page.html", "extra.html"))) == ["templates"]
    assert failed(base, make(AUTHOR, templates=("page.html", "page.html"))) == []  # a set, not a count
    assert failed(base, make(AUTHOR, status=404), status=False) == []


def test_query_count_and_timing_are_optional():
    old, new = make(AUTHOR, SQLITE_BOOKS, duration_ns=1_000_000), make(AUTHOR, duration_ns=50_000_000)
    assert failed(old, new, fewer_queries=False) == []
    assert failed(old, new, query_count=True, timing=True, fewer_queries=False) == ["query_count", "timing"]
    result = compare(old, new, checks={"timing": True}, time_tolerance=0.5, time_slack_ms=100)
    assert result.ok  # 50 ms <= 1 ms x 1.5 + 100 ms
    result = compare(old, new, checks={"timing": True}, time_budget_ms=20)
    assert [f.headline for f in result.failures] == ["took 50.0 ms, over the budget of 20 ms"]


def test_ignored_sql_is_left_out():
    savepoint = re.compile(r"^\s*SAVEPOINT", re.IGNORECASE)
    old, new = make(AUTHOR), make(AUTHOR, 'SAVEPOINT "s1_x1"', 'SAVEPOINT "s1_x2"')
    # Savepoint names do not matter to fingerprints: unless ignored, the two are one new, repeated query.
    assert failed(old, new) == ["new_queries", "duplicates"]
    assert compare(old, new, checks=DEFAULTS, ignore_sql=[savepoint]).ok


def test_postgresql_and_sqlite_group_by_differ_but_match_portably():
    assert fingerprint(SQLITE_BOOKS)[0] != fingerprint(POSTGRES_BOOKS)[0]
    assert portable_key(fingerprint(SQLITE_BOOKS)[1]) == portable_key(fingerprint(POSTGRES_BOOKS)[1])
    comparison = compare(
        make(SQLITE_BOOKS, AUTHOR), make(POSTGRES_BOOKS, AUTHOR, vendor="postgresql"), checks=DEFAULTS
    )
    assert comparison.ok and comparison.portable
    assert comparison.notes[0].startswith(
        "recorded on sqlite, replayed on postgresql: queries are matched by"
    )
    # Same backend: exact fingerprints, so the GROUP BY change is a new query.
    assert failed(make(SQLITE_BOOKS), make(POSTGRES_BOOKS)) == ["new_queries"]
    # Portable keys still tell different statements apart.
    assert failed(make(SQLITE_BOOKS), make(POSTGRES_BOOKS, AUTHOR, AUTHOR, vendor="postgresql")) == [
        "new_queries",
        "duplicates",
    ]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            'SELECT "a" FROM "t" GROUP BY "t"."id", "t"."a" HAVING COUNT(?) > ?',
            'SELECT "a" FROM "t" GROUP BY "t"."id" HAVING COUNT(?) > ?',
        ),
        ('SELECT "a" FROM "t" WHERE "d" = ?::date', 'SELECT "a" FROM "t" WHERE "d" = ?'),
        (
            'SELECT "a" FROM "t" WHERE UPPER("n"::text) = UPPER(?)',
            'SELECT "a" FROM "t" WHERE UPPER("n") = UPPER(?)',
        ),
        ('SELECT "a" FROM "t" WHERE "n" LIKE ? ESCAPE ?', 'SELECT "a" FROM "t" WHERE "n" LIKE ?'),
        ("SELECT `a` FROM `t`", 'SELECT "a" FROM "t"'),
        ('SELECT "a" FROM "t" WHERE "id" = ? FOR UPDATE', 'SELECT "a" FROM "t" WHERE "id" = ?'),
        (
            'SELECT "x" FROM (SELECT "a" FROM "t" GROUP BY "a", "b") s ORDER BY "x"',
            'SELECT "x" FROM (SELECT "a" FROM "t" GROUP BY "a") s ORDER BY "x"',
        ),
        (
            'SELECT DATE("d") FROM "t" GROUP BY DATE("d"), "t"."id" ORDER BY 1',
            'SELECT DATE("d") FROM "t" GROUP BY DATE("d") ORDER BY 1',
        ),
    ],
)
def test_portable_text_leaves_out_backend_spellings(a, b):
    assert portable_text(a) == portable_text(b)


def test_portable_text_keeps_the_rest():
    assert portable_text('SELECT "a" FROM "t" GROUP BY "a" ORDER BY "a" LIMIT ?') == (
        'SELECT "a" FROM "t" GROUP BY … ORDER BY "a" LIMIT ?'
    )
    assert portable_text('SELECT "a" FROM "t" WHERE "x" = ?') != portable_text(
        'SELECT "a" FROM "t" WHERE "y" = ?'
    )


def test_profile_of_a_block_lists_its_requests():
    block = make(AUTHOR)
    block.spans[0] = Span(0, None, "block", "checkout", 0, 10, {})
    block.spans.append(
        Span(
            len(block.spans), 0, "request", "GET /a/", 50, 10, {"method": "GET", "path": "/a/", "status": 302}
        )
    )
    assert profile(block).requests == [("GET", "/a/", 302)]


def test_the_failure_message():
    old = make(SQLITE_BOOKS, AUTHOR, duration_ns=2_000_000)
    new = make(
        SQLITE_BOOKS,
        *[AUTHOR] * 4,
        'SELECT "x" FROM "y"',
        templates=("page.html", "row.html"),
        duration_ns=3_000_000,
    )
    comparison = compare(old, new, checks=DEFAULTS)
    message = format_failure(
        comparison,
        source="tests/traces/books.json",
        what="GET /books/",
        actual_path="tests/traces/books.actual.json",
        notes=["a note"],
    )
    author, other = fingerprint(AUTHOR)[0], fingerprint('SELECT "x" FROM "y"')[0]
    assert (
        message
        == f"""\
Replay of tests/traces/books.json (GET /books/) does not match the recording: 4 checks failed (templates, new_queries, more_queries, duplicates)
  recorded: status 200, 2 queries, 1 template, 2.0 ms
  replay:   status 200, 6 queries, 2 templates, 3.0 ms

templates: the set of rendered templates changed
  now rendered, not in the recording: row.html
new_queries: 1 query fingerprint that the recording never ran
  {other}  once
more_queries: 1 query fingerprint ran more often than recorded (2 queries recorded, 6 now)
  {author}  1 -> 4 times (+3)
      more: shop/views.py:8 books  1 -> 4 times
duplicates: 1 new group of repeated queries (same fingerprint run again: an N+1 suspect)
  {author}  4 times, N+1 (threshold 3)

Queries involved (fingerprint, statement, where the replay ran it):
  {other}  SELECT "x" FROM "y"
      issued from shop/views.py:8 books
  {author}  SELECT "shop_author"."id", "shop_author"."name" FROM "shop_author" WHERE "shop_author"."id" = ? LIMIT ?
      issued from shop/views.py:8 books

Actual trace written to tests/traces/books.actual.json
If the change is intended, re-record: pytest --lifecycle-record=all (or replace the recorded file with the actual one).
Notes:
  - a note"""  # noqa: E501
    )


CARD = [
    {"template": "shop/_card.html", "file": "demo_site/shop/templates/shop/_card.html", "line": 7,
     "source": "{{ card.image.url }}"},
    {"template": "shop/book_list.html", "file": "demo_site/shop/templates/shop/book_list.html", "line": 12,
     "source": "{% include %}"},
]


def with_sites(*sites: tuple[int, list | None, list], params=lambda i: [i]) -> Trace:
    """A /books/ trace whose AUTHOR query runs ``n`` times from each (n, template_stack, stack) site."""
    trace = make(SQLITE_BOOKS)
    for n, lines, stack in sites:
        for _ in range(n):
            i = len(trace.spans)
            attrs = {"sql": AUTHOR, "vendor": "sqlite", "stack": stack, "params": params(i)}
            if lines:
                attrs["template_stack"] = lines
            trace.spans.append(Span(i, 2, "sql", AUTHOR[:120], 40, 5, attrs))
    return trace


def test_the_grown_query_message_names_the_new_caller_with_its_template_lines():
    helper = [["demo_site/shop/views.py", 30, "author_of"], ["demo_site/shop/views.py", 20, "home"]]
    old = with_sites((2, None, helper))
    new = with_sites((2, None, helper), (3, CARD, [["demo_site/shop/views.py", 45, "book_list"]]))
    comparison = compare(old, new, checks=DEFAULTS)
    message = format_failure(comparison, source="t.json", what="GET /books/", actual_path=None)
    card = ("shop/_card.html:7 `{{ card.image.url }}` in shop/book_list.html:12 `{% include %}` in "
            "demo_site/shop/views.py:45 book_list")
    author = fingerprint(AUTHOR)[0]
    assert f"  {author}  2 -> 5 times (+3)\n      new caller: {card}  0 -> 3 times\n" in message
    assert (f"      issued from {card} (3x), demo_site/shop/views.py:30 author_of in "
            "demo_site/shop/views.py:20 home (2x)") in message
    # Three from one template line, with distinct parameters: an N+1 by the dashboard's rule, which the
    # recording's two calls from the helper were not. The group repeated already; it is now an N+1.
    assert comparison.actual.queries[author].n_plus_one
    assert ("duplicates: 1 repeated group now an N+1 (same fingerprint run again: an N+1 suspect)\n"
            f"  {author}  5 times, N+1 (threshold 3); recorded 2 times, not an N+1\n") in message


def test_a_repeated_group_that_was_an_n_plus_one_already_is_not_reported_again():
    loop = [["demo_site/shop/views.py", 45, "book_list"]]
    comparison = compare(with_sites((3, CARD, loop)), with_sites((4, CARD, loop)), checks=DEFAULTS)
    assert comparison.recorded.queries[fingerprint(AUTHOR)[0]].n_plus_one
    assert [f.check for f in comparison.failures] == ["more_queries"]


def test_the_same_parameters_repeated_are_not_called_an_n_plus_one():
    new = with_sites((4, None, [["shop/views.py", 8, "books"]]), params=lambda i: [1])
    comparison = compare(make(SQLITE_BOOKS, AUTHOR), new, checks=DEFAULTS)
    [duplicates] = [f for f in comparison.failures if f.check == "duplicates"]
    assert duplicates.lines == [f"{fingerprint(AUTHOR)[0]}  4 times"]


def block_of(*requests: int) -> Trace:
    """A block: one request span per entry, each running AUTHOR that many times from one line."""
    spans = [Span(0, None, "block", "visit", 0, 100, {"label": "visit"})]
    for n in requests:
        req = len(spans)
        spans.append(Span(req, 0, "request", "GET /books/1/", 0, 10, {"method": "GET", "path": "/b/", "status": 200}))
        for _ in range(n):
            i = len(spans)
            spans.append(Span(i, req, "sql", AUTHOR[:120], 1, 1, {"sql": AUTHOR, "params": [i],
                                                                   "stack": [["shop/views.py", 8, "book"]]}))
    return Trace("0123456789abcdef", "2026-01-01T00:00:00.000000Z", 100, request={"block": "visit"},
                 spans=spans)


def test_a_block_running_a_query_once_per_request_repeats_nothing():
    comparison = compare(block_of(1), block_of(1, 1, 1), checks={**DEFAULTS, "status": False})
    assert [f.check for f in comparison.failures] == ["more_queries"]
    assert not comparison.actual.queries[fingerprint(AUTHOR)[0]].n_plus_one


def test_a_block_flags_the_request_that_repeats():
    comparison = compare(block_of(1, 1), block_of(1, 4), checks=DEFAULTS)
    [duplicates] = [f for f in comparison.failures if f.check == "duplicates"]
    assert duplicates.lines == [f"{fingerprint(AUTHOR)[0]}  5 times, N+1 (threshold 3)"]
