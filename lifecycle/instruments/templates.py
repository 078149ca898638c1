"""Templates: a span per render of a Django template, nested like the templates themselves.

We patch ``Template.render`` (top-level renders and ``{% include %}``) and ``ExtendsNode.render``
(the parent of an ``{% extends %}``, reached through ``compiled_parent._render``). We deliberately leave
``Template._render`` alone: django-debug-toolbar's templates panel replaces ``Template._render`` with its
own function at import time, and again whenever it finds something else there, so a wrapper of ours on
``_render`` silently disappears once a URLconf imports ``debug_toolbar.urls``. ``render`` and
``ExtendsNode.render`` are not touched by the toolbar, so both import orders work.

These two wrappers and one around ``ForNode.render`` (no span of its own) are also anchors of the SQL
stack walks (``lifecycle.frames``): a query made while they run walks up to the innermost of them only,
and the user frames above it are remembered until it returns.
"""

from __future__ import annotations

from django.template.base import Template
from django.template.defaulttags import ForNode
from django.template.loader_tags import ExtendsNode

from lifecycle.frames import anchor_at, forget_anchor
from lifecycle.instruments.base import patch, unpatch_all
from lifecycle.recorder import _parent, _recording
from lifecycle.safety import report

_originals: dict = {}


def _origin(template) -> str:
    origin = getattr(template, "origin", None)
    return str(getattr(origin, "name", "") or "") if origin is not None else ""


def install() -> None:
    if _originals:
        return
    original_render = Template.render
    original_extends = ExtendsNode.render

    def render(self, context):
        rec = _recording.get()
        if rec is None:
            return original_render(self, context)
        try:
            name = self.name or _origin(self) or "<unknown>"
            via = "include" if context.template is not None else "render"
            span, token = rec.push("template", name, {"template": name, "origin": _origin(self), "via": via})
        except Exception as exc:
            report("template instrument", exc)
            return original_render(self, context)
        try:
            return original_render(self, context)
        finally:
            # Inside the boundary: a failure here must not replace the render's result or exception.
            try:
                if rec.anchors:
                    forget_anchor(rec.anchors)
                rec.pop(span, token)
            except Exception as exc:
                report("template instrument", exc)

    def extends_render(self, context):
        rec = _recording.get()
        if rec is None:
            return original_extends(self, context)
        try:
            span, token = rec.push("template", "{% extends %}", {"template": None, "origin": "", "via": "extends"})
        except Exception as exc:
            report("template instrument", exc)
            return original_extends(self, context)
        try:
            return original_extends(self, context)
        finally:
            # Inside the boundary: a failure here must not replace the render's result or exception.
            try:
                if rec.anchors:
                    forget_anchor(rec.anchors)
                rec.pop(span, token)
            except Exception as exc:
                report("template instrument", exc)

    original_get_parent = ExtendsNode.get_parent

    def get_parent(self, context):
        parent = original_get_parent(self, context)
        # Name the "{% extends %}" span opened just above, now that the parent template is known.
        rec = _recording.get()
        if rec is not None:
            try:
                span = _parent.get()
                if span is not None and span.kind == "template" and span.attrs.get("via") == "extends":
                    name = getattr(parent, "name", None) or "<unknown>"
                    span.name = name
                    span.attrs["template"] = name
                    span.attrs["origin"] = _origin(parent)
            except Exception as exc:
                report("template instrument", exc)
        return parent

    original_for = ForNode.render

    def for_render(self, context):
        # No span: a stack-walk anchor only. The queries of a template loop (the classic N+1) then walk
        # up to their {% for %}, not on through the blocks, extends and includes around it.
        rec = _recording.get()
        if rec is None:
            return original_for(self, context)
        try:
            return original_for(self, context)
        finally:
            try:
                if rec.anchors:
                    forget_anchor(rec.anchors)
            except Exception as exc:
                report("template instrument", exc)

    # Stack walks of the queries made while a template renders remember the user frames above it.
    for anchor in (render, extends_render, for_render):
        anchor_at(anchor.__code__)
    patch(Template, "render", render, _originals)
    patch(ForNode, "render", for_render, _originals)
    patch(ExtendsNode, "render", extends_render, _originals)
    patch(ExtendsNode, "get_parent", get_parent, _originals)


def uninstall() -> None:
    unpatch_all(_originals)
