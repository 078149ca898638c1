"""Queries and cache calls made while a Django template renders name the template lines that ran them
(``template_stack``), with and without template debug."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client, override_settings

from demo_site.shop.models import Book, Review
from tests.conftest import last_trace

pytestmark = pytest.mark.urls("tests.instruments.template_lines_app")

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "testapp" / "templates" / "template_lines"
REL = "tests/testapp/templates/template_lines/"


def django_templates(debug: bool) -> list[dict]:
    base = settings.TEMPLATES[0]
    options = {**base.get("OPTIONS", {}), "debug": debug,
               "libraries": {"template_lines": "tests.instruments.template_lines_app"}}
    return [{**base, "OPTIONS": options}]


@pytest.fixture(params=[True, False], ids=["debug", "nodebug"])
def debug(request):
    with override_settings(TEMPLATES=django_templates(request.param)):
        yield request.param


def line(template: str, number: int, source: str) -> dict:
    return {"template": f"template_lines/{template}", "file": REL + template, "line": number, "source": source}


FOR = line("books.html", 4, "{% for book in books %}")
EXTENDS = line("books.html", 1, '{% extends "template_lines/base.html" %}')
INCLUDE = line("books.html", 5, '{% include "template_lines/_card.html" %}')
AUTHOR = line("_card.html", 3, "{{ book.author.name }}")


def test_queries_of_an_include_in_a_loop_name_the_card_line_then_the_include_then_the_for(debug, books):
    assert Client().get("/tl/books/").status_code == 200
    queries = last_trace().spans_of("sql")
    assert len(queries) == 4
    assert queries[0].attrs["template_stack"] == [FOR, EXTENDS]
    for query in queries[1:]:
        assert query.attrs["template_stack"] == [AUTHOR, INCLUDE, FOR, EXTENDS]
        # The user's Python frames stay in "stack": the view's render() call.
        assert query.attrs["stack"][0][0] == "tests/instruments/template_lines_app.py"


def test_inclusion_tag_in_a_loop(debug, books):
    Client().get("/tl/tagged/")
    queries = last_trace().spans_of("sql")
    tag = line("tagged.html", 4, "{% show_card book %}")
    loop = line("tagged.html", 3, "{% for book in books %}")
    assert [q.attrs["template_stack"] for q in queries] == [[loop]] + [[AUTHOR, tag, loop]] * 3


def test_cache_calls_from_a_template(debug, books):
    cache.clear()
    Client().get("/tl/cached/")
    spans = last_trace().spans_of("cache")
    tag = line("cached.html", 3, '{% cache 60 "tl-fragment" %}')
    assert [(s.attrs["op"], s.attrs["hit"], s.attrs["template_stack"]) for s in spans] == [
        ("get", False, [tag]), ("set", None, [tag])
    ]
    assert last_trace().spans_of("sql")[0].attrs["template_stack"] == [line("cached.html", 3, "{{ books|length }}")]


def test_calls_outside_templates_have_no_template_stack(books):
    from lifecycle.recorder import Recording

    rec = Recording("block", "test")
    rec.activate()
    try:
        list(Book.objects.all())
        cache.get("tl-outside")
    finally:
        rec.deactivate()
    assert all("template_stack" not in s.attrs for s in rec.trace.spans)


def test_long_source_is_capped(books):
    from django.template import engines

    from lifecycle.recorder import Recording

    padding = "x" * 300
    tpl = engines["django"].from_string('{% for book in books %}{{ book.author.name|default:"' + padding
                                        + '" }}{% endfor %}')
    rec = Recording("block", "test")
    rec.activate()
    try:
        tpl.render({"books": Book.objects.order_by("pk")})
    finally:
        rec.deactivate()
    query = [s for s in rec.trace.spans if s.kind == "sql"][1]
    inner = query.attrs["template_stack"][0]
    assert inner["source"].startswith('{{ book.author.name|default:"xxx') and len(inner["source"]) == 200
    assert inner["source"].endswith("x…")
    assert inner["line"] == 1 and inner["template"] == inner["file"] == "<unknown source>"


def test_template_stacks_round_trip_and_match_the_schema(books):
    import json

    import jsonschema

    from lifecycle.trace import Trace

    Client().get("/tl/books/")
    trace = last_trace()
    schema = json.loads((Path(__file__).parent.parent.parent / "lifecycle" / "schema" / "trace-v1.json").read_text())
    data = trace.to_dict()
    jsonschema.validate(data, schema)
    assert Trace.from_json(trace.to_json()).to_dict() == data
    assert data["spans"][-1]["attrs"]["template_stack"][0] == AUTHOR


class Shelf:
    """A model-like object whose property reaches the database through two user frames."""

    @property
    def first_author(self):
        return _first_author()


def _first_author():
    return Book.objects.select_related("author").order_by("pk").first().author.name


def test_a_query_deeper_than_stack_depth_still_names_its_template_line(books):
    from django.template import engines

    from lifecycle.recorder import Recording

    tpl = engines["django"].from_string("<p>\n{{ shelf.first_author }}</p>")
    with override_settings(LIFECYCLE={"STACK_DEPTH": 1}):
        rec = Recording("block", "test")
        rec.activate()
        try:
            assert "tl-author-0" in tpl.render({"shelf": Shelf()})
        finally:
            rec.deactivate()
    (query,) = [s for s in rec.trace.spans if s.kind == "sql"]
    assert [f[2] for f in query.attrs["stack"]] == ["_first_author"]
    assert [(e["line"], e["source"]) for e in query.attrs["template_stack"]] == [(2, "{{ shelf.first_author }}")]


# The queries of a loop's later turns are recognized by their call path (lifecycle.frames._known_path)
# instead of a walk: each must still name its own template line and user frame, also where two paths have
# the same length (the same card included from two lines, two nodes of one line's depth, one property
# reaching the database from one of two lines, or through one of two functions, by turn).


def _render_recorded(source: str, context: dict) -> list:
    from django.template import engines

    from lifecycle.recorder import Recording

    rec = Recording("block", "test")
    rec.activate()
    try:
        engines["django"].from_string(source).render(context)
    finally:
        rec.deactivate()
    return [s for s in rec.trace.spans if s.kind == "sql"]


def _reviews_a(book):
    return Review.objects.filter(book=book).count()


def _reviews_b(book):
    return Review.objects.filter(book=book).count()


class Turn:
    """One turn of a loop: its properties reach the database from one line or another, by turn."""

    def __init__(self, book, odd: bool) -> None:
        self.book, self.odd = book, odd

    @property
    def reviews(self):
        if self.odd:
            return Review.objects.filter(book=self.book).count()  # odd turns
        return Review.objects.filter(book=self.book).count()  # even turns

    @property
    def dispatched(self):
        return (_reviews_a if self.odd else _reviews_b)(self.book)


def _line_of(function, marker: str) -> int:
    import inspect

    lines, first = inspect.getsourcelines(function)
    return first + next(i for i, text in enumerate(lines) if marker in text)


def test_the_same_card_included_from_two_lines_of_a_loop_names_each_include(debug, books):
    queries = _render_recorded('{% for book in books %}\n{% include "template_lines/_reviews.html" %}\n'
                               '{% include "template_lines/_reviews.html" %}\n{% endfor %}',
                               {"books": list(Book.objects.order_by("pk"))})
    assert len(queries) == 6
    card = line("_reviews.html", 1, "{{ book.reviews.count }}")
    assert [q.attrs["template_stack"][:2] for q in queries] == [
        [card, {"template": "<unknown source>", "file": "<unknown source>", "line": n,
                "source": '{% include "template_lines/_reviews.html" %}'}] for _ in range(3) for n in (2, 3)]


def test_two_nodes_of_a_loop_body_each_name_their_line(debug, books):
    queries = _render_recorded("{% for book in books %}\n{{ book.reviews.count }}\n{{ book.tags.count }}\n"
                               "{% endfor %}", {"books": list(Book.objects.order_by("pk"))})
    assert [(q.attrs["template_stack"][0]["line"], q.attrs["template_stack"][0]["source"]) for q in queries] == [
        (2, "{{ book.reviews.count }}"), (3, "{{ book.tags.count }}")] * 3


def test_a_property_reaching_the_database_from_two_lines_names_the_line_of_each_turn(debug, books):
    turns = [Turn(book, i % 2 == 1) for i, book in enumerate(list(Book.objects.order_by("pk")) * 2)]
    queries = _render_recorded("{% for turn in turns %}{{ turn.reviews }}{% endfor %}", {"turns": turns})
    odd, even = _line_of(Turn.reviews.fget, "# odd turns"), _line_of(Turn.reviews.fget, "# even turns")
    assert [q.attrs["stack"][0][1:] for q in queries] == [
        (odd if turn.odd else even, "reviews") for turn in turns]
    assert all(q.attrs["template_stack"][0]["source"] == "{{ turn.reviews }}" for q in queries)


def test_a_property_calling_one_of_two_functions_names_the_function_of_each_turn(debug, books):
    turns = [Turn(book, i % 2 == 1) for i, book in enumerate(list(Book.objects.order_by("pk")) * 2)]
    queries = _render_recorded("{% for turn in turns %}{{ turn.dispatched }}{% endfor %}", {"turns": turns})
    assert [q.attrs["stack"][0][2] for q in queries] == ["_reviews_a" if t.odd else "_reviews_b" for t in turns]
    assert all(q.attrs["stack"][1][2] == "dispatched" for q in queries)


def test_loops_rendered_by_two_threads_of_one_trace_each_name_their_lines(books, caplog):
    import contextvars
    import threading

    from django.template import engines

    from lifecycle.recorder import Recording

    books_list = list(Book.objects.order_by("pk")) * 20
    sources = {"a": "{% for book in books %}\n{{ book.reviews.count }}{% endfor %}",
               "b": "{% for book in books %}\n\n{{ book.tags.count }}{% endfor %}"}
    rec = Recording("block", "test")
    rec.activate()
    try:
        barrier = threading.Barrier(2)

        def render(name):
            barrier.wait()
            engines["django"].from_string(sources[name]).render({"books": books_list})

        threads = [threading.Thread(target=contextvars.copy_context().run, args=(render, name)) for name in sources]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        rec.deactivate()
    queries = [s for s in rec.trace.spans if s.kind == "sql"]
    assert len(queries) == 2 * len(books_list)
    lines = {(q.attrs["template_stack"][0]["line"], q.attrs["template_stack"][0]["source"]) for q in queries}
    assert lines == {(2, "{{ book.reviews.count }}"), (3, "{{ book.tags.count }}")}
    by_table = {"review": 2, "tag": 3}
    for q in queries:
        table = "review" if "shop_review" in q.attrs["sql"] else "tag"
        assert q.attrs["template_stack"][0]["line"] == by_table[table]
    assert "sql instrument" not in caplog.text
