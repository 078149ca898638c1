from __future__ import annotations

import importlib
import sys

import pytest
from django.template.base import Template
from django.test import Client

from lifecycle.instruments import templates as template_instrument
from tests.conftest import assert_nested, last_trace


def _template_tree(trace):
    by_id = {s.id: s for s in trace.spans}
    return [(s.name, by_id[s.parent_id].name, s.attrs["via"]) for s in trace.spans_of("template")]


EXPECTED = [
    ("testapp/page.html", "tests.testapp.views.nested", "render"),
    ("testapp/base.html", "testapp/page.html", "extends"),
    ("testapp/_item.html", "testapp/base.html", "include"),
    ("testapp/_inner.html", "testapp/_item.html", "include"),
    ("testapp/_item.html", "testapp/base.html", "include"),
    ("testapp/_inner.html", "testapp/_item.html", "include"),
    ("testapp/_item.html", "testapp/base.html", "include"),
    ("testapp/_inner.html", "testapp/_item.html", "include"),
    ("testapp/_footer.html", "testapp/base.html", "include"),
]


def test_includes_and_extends_nest(db):
    Client().get("/t/nested/")
    trace = last_trace()
    assert _template_tree(trace) == EXPECTED
    assert_nested(trace)
    page = trace.spans_of("template")[0]
    assert page.attrs["origin"].endswith("tests/testapp/templates/testapp/page.html")


def test_demo_detail_page_shows_its_template_chain(seeded):
    Client().get("/books/1/")
    names = [s.name for s in last_trace().spans_of("template")]
    assert names[:2] == ["shop/book_detail.html", "shop/base.html"]
    assert {"shop/_review_list.html", "shop/_review.html", "shop/_nav.html"} <= set(names)


def _reimport_debug_toolbar_templates_panel():
    for name in [m for m in sys.modules if m.startswith("debug_toolbar.panels.templates")]:
        del sys.modules[name]
    importlib.import_module("debug_toolbar.panels.templates.panel")


@pytest.mark.parametrize("order", ["toolbar-after-us", "toolbar-before-us"])
def test_survives_django_debug_toolbar_in_either_import_order(db, order):
    """debug-toolbar replaces Template._render at import; our spans must not depend on it."""
    original_private_render = Template._render
    try:
        if order == "toolbar-before-us":
            template_instrument.uninstall()
            _reimport_debug_toolbar_templates_panel()
            template_instrument.install()
        else:
            _reimport_debug_toolbar_templates_panel()
        from debug_toolbar.panels.templates.panel import instrumented_test_render

        assert Template._render is instrumented_test_render
        Client().get("/t/nested/")
        assert _template_tree(last_trace()) == EXPECTED
    finally:
        Template._render = original_private_render


def test_uninstall_restores_django_and_install_is_idempotent(db):
    original = Template.render
    template_instrument.install()
    assert Template.render is original
    template_instrument.uninstall()
    try:
        assert Template.render is not original
        Client().get("/t/nested/")
        assert last_trace().spans_of("template") == []
    finally:
        template_instrument.install()
    Client().get("/t/nested/")
    assert len(last_trace().spans_of("template")) == len(EXPECTED)
