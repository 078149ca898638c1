"""``lifecycle.span()``: time your own code as a span of the trace being recorded.

    with lifecycle.span("price cart", items=len(cart)):
        ...

    @lifecycle.span("send receipt", kind="email")
    def send_receipt(order): ...

    @lifecycle.span("fetch rates")
    async def fetch_rates(): ...

Spans nest like every other span: the queries, templates and cache calls made inside become its children,
and a span opened inside another is its child. Outside a trace (lifecycle off, a request not recorded, a
management command) the cost is one ContextVar read and nothing is kept.

Attributes are shown in the dashboard and saved with the trace: values that are not a string, number,
bool or None are shown as their ``repr``, values under secret names (``password``, ``token``...: the
``REDACT_FIELDS`` rules) are replaced by ``********``, strings are cut at ``MAX_VALUE_LENGTH``. An exception
leaving the block is recorded on the span (``error``) and propagates unchanged.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from lifecycle.recorder import _parent, _recording
from lifecycle.safety import report

_PLAIN = (int, float, bool, type(None))


def _clean(attrs: dict[str, Any]) -> dict[str, Any]:
    from lifecycle import redact

    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if redact.sensitive_name(key):
            out[key] = redact.REDACTED
        elif isinstance(value, str):
            out[key] = redact.cap(redact.value(str.__str__(value)))
        elif isinstance(value, _PLAIN):
            out[key] = value
        else:
            out[key] = redact.cap(redact.value(repr(value)))
    return out


class span:  # lowercase: used like a function, lifecycle.span("name")
    """A span named ``name`` of kind ``kind`` (``"custom"``; any ``[a-z][a-z0-9_]*`` name: kinds that no
    instrument registered are drawn with the neutral style), with ``attrs``. A context manager (``with`` and
    ``async with``) and a decorator (of functions and coroutine functions: one span per call)."""

    __slots__ = ("name", "kind", "attrs", "_open")

    def __init__(self, name: str, kind: str = "custom", **attrs: Any) -> None:
        self.name = name
        self.kind = kind
        self.attrs = attrs
        self._open: list[tuple[Any, Any, Any]] = []  # (recording, span, token), innermost last

    # -- context manager -----------------------------------------------------------------------------

    def __enter__(self) -> span:
        rec = _recording.get()
        if rec is not None:
            self._push(rec)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._open:
            self._pop(exc)

    async def __aenter__(self) -> span:
        return self.__enter__()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        self.__exit__(exc_type, exc, tb)

    def _push(self, rec) -> None:
        try:
            attrs = _clean(self.attrs) if self.attrs else {}
            span_, token = rec.push(self.kind, str(self.name), attrs)
        except Exception as exc:
            report("lifecycle.span", exc)
            span_, token = None, None
        self._open.append((rec, span_, token))

    def _pop(self, exc: BaseException | None) -> None:
        rec, span_, token = self._open.pop()
        try:
            if span_ is not None and exc is not None:
                from lifecycle import redact

                span_.attrs["error"] = redact.error(exc)
            rec.pop(span_, token)
        except Exception as err:
            report("lifecycle.span", err)

    def set(self, **attrs: Any) -> None:
        """Add attributes to the span open now (inside its ``with`` block): a result, a count."""
        if self._open:
            span_ = self._open[-1][1]
            if span_ is not None:
                try:
                    span_.attrs.update(_clean(attrs))
                except Exception as exc:
                    report("lifecycle.span", exc)

    # -- decorator -----------------------------------------------------------------------------------

    def __call__(self, func):
        name, kind, attrs = self.name, self.kind, self.attrs
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def async_wrapper(*args, **kwargs):
                if _recording.get() is None:
                    return await func(*args, **kwargs)
                with span(name, kind, **attrs):
                    return await func(*args, **kwargs)

            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if _recording.get() is None:
                return func(*args, **kwargs)
            with span(name, kind, **attrs):
                return func(*args, **kwargs)

        return wrapper

    def __repr__(self) -> str:
        return f"<lifecycle.span {self.kind} {self.name!r}>"


def current_span_id() -> int | None:
    """The id of the innermost open span of the trace being recorded here (None outside a trace)."""
    if _recording.get() is None:
        return None
    parent = _parent.get()
    return parent.id if parent is not None else None
