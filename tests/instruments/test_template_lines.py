"""Queries and cache calls made while a Django template renders name the template lines that ran them
(``template_stack``), with and without template debug."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client, override_settings

from demo_site.shop.models import Book
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
