"""Jinja2: a template span per render of a Jinja2 template (the ``django.template.backends.jinja2``
backend or any Environment), with its ``{% include %}``, ``{% extends %}`` and ``{% import %}`` nested.

Jinja2 has no render hook, and includes and extends do not go through ``Template.render``: the compiled
code calls the other template's ``root_render_func`` directly (``yield from
parent_template.root_render_func(context)``). So each template, as Jinja2 builds it
(``Template._from_namespace``, which every loaded, cached or ``from_string`` template goes through), gets
its ``root_render_func`` wrapped: a plain function that returns Jinja2's own generator when nothing is
recorded, and a generator holding the span open while the template yields when a trace is active. An
``{% extends %}`` passes the child's own context to the parent: that is how it is told from an include.

Queries and cache calls made in a Jinja2 template name its lines too (``template_stack``): the frames of
Jinja2's compiled code carry their template (``__jinja_template__`` in their globals), which maps the
frame's line back to the template's (``lifecycle.frames``). A no-op when Jinja2 is not installed.
"""

from __future__ import annotations

import inspect
from contextvars import ContextVar

from lifecycle.frames import template_code
from lifecycle.kinds import BUILTIN as _BUILTIN
from lifecycle.recorder import _recording
from lifecycle.safety import report

# The instrument contract (lifecycle.instruments.base): what it records, how it names itself.
kinds = tuple(k for k in _BUILTIN if k.name in ("template",))
label = "Jinja2 templates"

try:
    import jinja2
except ImportError:  # pragma: no cover - jinja2 is optional
    jinja2 = None  # type: ignore[assignment]

_originals: dict = {}
_active = False
# The Jinja2 context of the innermost Jinja2 render running (an extends passes it on unchanged).
_rendering: ContextVar[object | None] = ContextVar("lifecycle_jinja_context", default=None)


def _wrap_root(root, name: str, filename: str):
    if getattr(root, "_lifecycle_wrapped", False):
        return root
    recorded = _recorded_async if inspect.isasyncgenfunction(root) else _recorded

    def root_render_func(context):
        rec = _recording.get() if _active else None
        if rec is None:
            return root(context)
        return recorded(rec, root, context, name, filename)

    root_render_func._lifecycle_wrapped = True  # type: ignore[attr-defined]
    root_render_func.__wrapped__ = root  # type: ignore[attr-defined]
    return root_render_func


def _open(rec, context, name, filename):
    try:
        outer = _rendering.get()
        via = "render" if outer is None else "extends" if outer is context else "include"
        span, token = rec.push("template", name, {"template": name, "origin": filename, "via": via,
                                                  "engine": "jinja2"})
        return span, token, _rendering.set(context)
    except Exception as exc:
        report("jinja2 instrument", exc)
        return None, None, None


def _close(rec, span, token, context_token) -> None:
    try:
        if context_token is not None:
            _rendering.reset(context_token)
        rec.pop(span, token)
    except Exception as exc:
        report("jinja2 instrument", exc)


def _recorded(rec, root, context, name, filename):
    span, token, context_token = _open(rec, context, name, filename)
    try:
        yield from root(context)
    finally:
        _close(rec, span, token, context_token)


async def _recorded_async(rec, root, context, name, filename):
    span, token, context_token = _open(rec, context, name, filename)
    try:
        async for event in root(context):
            yield event
    finally:
        _close(rec, span, token, context_token)


def install() -> None:
    global _active
    if jinja2 is None:
        return
    _active = True
    if _originals:
        return
    template_class = jinja2.Template
    original = template_class.__dict__.get("_from_namespace")
    if not isinstance(original, classmethod):  # a Jinja2 we do not know: no spans rather than errors
        return
    build = original.__func__

    def _from_namespace(cls, environment, namespace, globals):
        template = build(cls, environment, namespace, globals)
        try:
            name = template.name or template.filename or "<template>"
            template.root_render_func = _wrap_root(template.root_render_func, name, template.filename or "")
            if template.filename:
                template_code(template.filename)
        except Exception as exc:
            report("jinja2 instrument", exc)
        return template

    _originals[(template_class, "_from_namespace")] = original
    template_class._from_namespace = classmethod(_from_namespace)  # type: ignore[method-assign, assignment]


def uninstall() -> None:
    """Templates built meanwhile keep their wrapper, which does nothing once uninstalled."""
    global _active
    _active = False
    for (owner, name), original in list(_originals.items()):
        setattr(owner, name, original)
    _originals.clear()
