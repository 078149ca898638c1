"""Views, URLs and a tag library for tests/instruments/test_template_lines.py (``pytest.mark.urls``)."""

from __future__ import annotations

from django import template
from django.shortcuts import render
from django.urls import path

from demo_site.shop.models import Book

register = template.Library()


@register.inclusion_tag("template_lines/_card.html")
def show_card(book):
    return {"book": book}


def _books():
    return Book.objects.order_by("pk")


def page(request, name):
    return render(request, f"template_lines/{name}.html", {"books": _books()})


def jinja_page(request):
    return render(request, "books.jinja", {"books": _books()}, using="template_lines_jinja2")


urlpatterns = [
    path("tl/jinja/", jinja_page),
    path("tl/<str:name>/", page),
]
