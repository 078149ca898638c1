"""Django 6 template partials (``{% partialdef %}``, ``{% partial %}``, ``"page.html#card"``) are template
spans, and their queries name the partial's lines."""

from __future__ import annotations

import django
import pytest
from django.template.loader import render_to_string
from django.test import Client, override_settings

from demo_site.shop.models import Book
from lifecycle.recorder import Recording
from tests.conftest import assert_nested, last_trace
from tests.instruments.test_template_lines import django_templates

pytestmark = [
    pytest.mark.skipif(django.VERSION < (6, 0),
                       reason=f"template partials are new in Django 6.0 (this is Django {django.get_version()})"),
    pytest.mark.urls("tests.instruments.template_lines_app"),
]

PAGE = "template_lines/partials.html"
REL = "tests/testapp/templates/template_lines/partials.html"


@pytest.fixture(autouse=True, params=[True, False], ids=["debug", "nodebug"])
def debug(request):
    with override_settings(TEMPLATES=django_templates(request.param)):
        yield request.param


def entry(line: int, source: str) -> dict:
    return {"template": PAGE, "file": REL, "line": line, "source": source}


def test_partials_rendered_by_a_page_are_spans(books):
    response = Client().get("/tl/partials/")
    assert response.content.count(b"<li>") == 3
    trace = last_trace()
    by_id = {s.id: s for s in trace.spans}
    templates = trace.spans_of("template")
    assert [(s.name, s.attrs["via"], by_id[s.parent_id].name) for s in templates] == [
        (PAGE, "render", "tests.instruments.template_lines_app.page")] + [(f"{PAGE}#card", "partial", PAGE)] * 3
    assert templates[1].attrs["origin"].endswith(REL)
    queries = trace.spans_of("sql")
    assert [by_id[q.parent_id].name for q in queries] == [PAGE] + [f"{PAGE}#card"] * 3
    loop = entry(5, "{% for book in books %}")
    assert queries[0].attrs["template_stack"] == [loop]
    for query in queries[1:]:
        assert query.attrs["template_stack"] == [entry(2, "{{ book.author.name }}"), entry(6, "{% partial card %}"),
                                                 loop]
    assert_nested(trace)


def test_a_partial_rendered_by_name_is_a_span(books):
    rec = Recording("block", "test")
    rec.activate()
    try:
        html = render_to_string(f"{PAGE}#card", {"book": Book.objects.order_by("pk").first()})
    finally:
        rec.deactivate()
    assert html.strip() == "<li>tl-author-0</li>"
    (span,) = [s for s in rec.trace.spans if s.kind == "template"]
    assert (span.name, span.attrs["template"], span.attrs["via"]) == (f"{PAGE}#card", f"{PAGE}#card", "render")
    (query,) = [s for s in rec.trace.spans if s.kind == "sql" and s.parent_id == span.id]
    assert query.attrs["template_stack"] == [entry(2, "{{ book.author.name }}")]
