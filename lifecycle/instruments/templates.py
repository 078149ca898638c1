"""Templates: a span per render of a Django template, nested like the templates themselves.

We patch ``Template.render`` (top-level renders and ``{% include %}``), ``ExtendsNode.render`` (the parent
of an ``{% extends %}``, reached through ``compiled_parent._render``) and, on Django 6, ``PartialTemplate.render``
(``render_to_string("page.html#card")`` and ``{% partial card %}``; a partial is not a ``Template``). We
deliberately leave ``Template._render`` alone: django-debug-toolbar's templates panel replaces
``Template._render`` with its own function at import time, and again whenever it finds something else there,
so a wrapper of ours on ``_render`` silently disappears once a URLconf imports ``debug_toolbar.urls``.
``render`` and ``ExtendsNode.render`` are not touched by the toolbar, so both import orders work.

These wrappers and one around ``ForNode.render`` (no span of its own) are also anchors of the SQL
stack walks (``lifecycle.frames``): a query made while they run walks up to the innermost of them only,
and the user frames and template lines above it are remembered until it returns. The template lines of a
query (``template_stack``) are read from ``Node.render_annotated`` frames by that walk, at query time only.
"""

from __future__ import annotations

from django.template.base import Node, Template
from django.template.defaulttags import ForNode
from django.template.loader_tags import ExtendsNode

from lifecycle.frames import anchor_at, forget_anchor, node_at
from lifecycle.instruments.base import patch, unpatch_all
from lifecycle.kinds import BUILTIN as _BUILTIN
from lifecycle.recorder import _parent, _recording
from lifecycle.safety import report

# The instrument contract (lifecycle.instruments.base): what it records, how it names itself.
kinds = tuple(k for k in _BUILTIN if k.name in ("template",))
label = "Django templates"

try:  # Django 6.0+
    from django.template.base import PartialTemplate
except ImportError:  # pragma: no cover - Django 5.2
    PartialTemplate = None  # type: ignore[misc, assignment]  # the stubs follow Django 6

_originals: dict = {}


def _origin(template) -> str:
    origin = getattr(template, "origin", None)
    return str(getattr(origin, "name", "") or "") if origin is not None else ""


def _template_name(template) -> str:
    return template.name or _origin(template) or "<unknown>"


def _partial_name(partial) -> str:
    page = getattr(partial.origin, "template_name", None) or _origin(partial)
    return f"{page}#{partial.name}" if page else str(partial.name)


def _render_wrapper(original_render, name_of, nested: str):
    """The wrapper of a template's ``render``: one code object for all of them (the anchor)."""

    def render(self, context):
        rec = _recording.get()
        if rec is None:
            return original_render(self, context)
        try:
            name = name_of(self)
            via = nested if context.template is not None else "render"
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
                    forget_anchor(rec.anchors, via == "render")
                rec.pop(span, token)
            except Exception as exc:
                report("template instrument", exc)

    return render


def install() -> None:
    if _originals:
        return
    original_extends = ExtendsNode.render
    render = _render_wrapper(Template.render, _template_name, "include")

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

    # Stack walks of the queries made while a template renders remember the user frames above it, and
    # read the template lines from the nodes' render_annotated frames.
    for anchor in (render, extends_render, for_render):
        anchor_at(anchor.__code__)
    node_at(Node.render_annotated.__code__)
    patch(Template, "render", render, _originals)
    patch(ForNode, "render", for_render, _originals)
    patch(ExtendsNode, "render", extends_render, _originals)
    patch(ExtendsNode, "get_parent", get_parent, _originals)
    if PartialTemplate is not None:
        patch(PartialTemplate, "render", _render_wrapper(PartialTemplate.render, _partial_name, "partial"),
              _originals)


def uninstall() -> None:
    unpatch_all(_originals)
