"""The Jinja2 environment of the demo's ``jinja2`` template backend: Django's ``url`` and ``static``."""

from __future__ import annotations

from typing import Any

from django.templatetags.static import static
from django.urls import reverse
from jinja2 import Environment


def url(name: str, *, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None) -> str:
    return reverse(name, args=args, kwargs=kwargs)


def environment(**options: Any) -> Environment:
    env = Environment(**options)
    env.globals.update(url=url, static=static)
    return env
