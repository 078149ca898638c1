"""Jinja2 templates rendered through Django's jinja2 backend are template spans (includes and extends
nested), and their queries name the template lines."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings

from demo_site.shop.models import Book
from tests.conftest import assert_nested, last_trace

pytestmark = pytest.mark.urls("tests.instruments.template_lines_app")

JINJA_DIR = Path(__file__).resolve().parent.parent / "testapp" / "templates" / "template_lines" / "jinja2"
REL = "tests/testapp/templates/template_lines/jinja2/"


@pytest.fixture
def jinja_backend():
    pytest.importorskip("jinja2", reason="jinja2 is not installed (pip install jinja2)")
    backends = [settings.TEMPLATES[0], {"BACKEND": "django.template.backends.jinja2.Jinja2",
                                        "NAME": "template_lines_jinja2", "DIRS": [str(JINJA_DIR)],
                                        "APP_DIRS": False, "OPTIONS": {}}]
    with override_settings(TEMPLATES=backends):
        yield


def test_jinja2_templates_are_spans_nested_like_the_templates(jinja_backend, books):
    response = Client().get("/tl/jinja/")
    assert response.status_code == 200 and b"tl-author-2" in response.content
    trace = last_trace()
    by_id = {s.id: s for s in trace.spans}
    templates = trace.spans_of("template")
    assert [(s.name, s.attrs["via"], by_id[s.parent_id].name) for s in templates] == [
        ("books.jinja", "render", "tests.instruments.template_lines_app.jinja_page"),
        ("base.jinja", "extends", "books.jinja"),
        ("_card.jinja", "include", "base.jinja"),
        ("_card.jinja", "include", "base.jinja"),
        ("_card.jinja", "include", "base.jinja"),
        ("_footer.jinja", "include", "base.jinja"),
    ]
    assert all(s.attrs["engine"] == "jinja2" for s in templates)
    assert templates[0].attrs["origin"] == str(JINJA_DIR / "books.jinja")
    assert_nested(trace)


def test_queries_in_jinja2_templates_nest_and_name_their_lines(jinja_backend, books):
    Client().get("/tl/jinja/")
    trace = last_trace()
    by_id = {s.id: s for s in trace.spans}
    queries = trace.spans_of("sql")
    assert [by_id[q.parent_id].name for q in queries] == ["base.jinja"] + ["_card.jinja"] * 3
    for query in queries[1:]:
        lines = [(e["template"], e["line"], e["source"]) for e in query.attrs["template_stack"]]
        assert lines == [
            ("_card.jinja", 1, "<li>{{ book.title }} by {{ book.author.name }}</li>"),
            ("books.jinja", 5, '{% include "_card.jinja" %}'),
            ("base.jinja", 3, "{% block content %}{% endblock %}"),
            ("books.jinja", 1, '{% extends "base.jinja" %}'),
        ]
        assert query.attrs["template_stack"][0]["file"] == REL + "_card.jinja"
        # Compiled template code is never shown as a user frame.
        assert not any(frame[0].endswith(".jinja") for frame in query.attrs["stack"])
        assert query.attrs["stack"][0][0] == "tests/instruments/template_lines_app.py"


def test_without_a_recording_jinja2_renders_as_before(jinja_backend, books):
    from django.template.loader import render_to_string

    html = render_to_string("books.jinja", {"books": Book.objects.order_by("pk")}, using="template_lines_jinja2")
    assert html.count("<li>") == 3 and "3 books" in html


def test_a_no_op_when_jinja2_cannot_be_imported(monkeypatch):
    monkeypatch.setitem(sys.modules, "jinja2", None)  # import jinja2 raises ImportError
    spec = importlib.util.find_spec("lifecycle.instruments.jinja")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.jinja2 is None
    module.install()
    module.install()
    module.uninstall()
    assert module._originals == {}
