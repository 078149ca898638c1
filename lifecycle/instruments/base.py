"""The contract every instrument follows, and the helpers the built-in ones share.

An instrument records one or more kinds of span. It is a class deriving from :class:`Instrument` (named in
``LIFECYCLE["INSTRUMENTS"]`` by dotted path and instantiated with no arguments), an instance of one, or a
plain module with the same names (the built-ins are modules). What lifecycle reads:

- ``kinds``: the :class:`lifecycle.kinds.Kind` of each kind of span it records (registered when the
  instrument is loaded, so the summary, the publisher, the toolbar panel and the dashboard know how to
  label, colour and stream them). An instrument that only changes how other spans are recorded (the
  toolbar one) records none.
- ``label``: how it names itself in system checks, logs and failure reports ("outbound HTTP").
- ``install()``: patch what it needs. Idempotent: installing twice changes nothing. An instrument whose
  library is not installed does nothing (and imports nothing that would pull it in).
- ``uninstall()``: restore exactly what was there (the same objects, by identity). Idempotent.

And the manners that keep the host's behaviour its own (``tests/instruments/test_boundary.py``):

- Outside a trace the instrumented call costs one ContextVar read: ``rec = lifecycle.recorder.current()``
  (or ``_recording.get()`` bound once), and the original is called straight away when it is None.
- The host's call runs once, outside any ``try`` of ours, so its result and its exceptions are its own.
- Everything of ours (opening and closing the span, reading attributes) is inside ``try``/``except`` that
  hands the failure to :func:`lifecycle.safety.report` (logged once per kind of failure).
- A wrapper keeps the wrapped callable's name, signature and attributes (``functools.wraps``), a method put
  on an instance stays a bound method (``types.MethodType``), an async callable stays a coroutine function.
- Attribute values are JSON-safe and redacted when they are set (``lifecycle.redact``): the span may be
  streamed to the dashboard before the trace finishes (the kind's ``live_attrs`` say which).
"""

from __future__ import annotations

from typing import Any

from lifecycle.kinds import Kind


class Instrument:
    """Base class of a pluggable instrument (see the module docstring for the contract)."""

    #: The kinds of span this instrument records.
    kinds: tuple[Kind, ...] = ()
    #: How the instrument names itself in checks, logs and failure reports.
    label: str = ""

    def install(self) -> None:
        """Start recording (idempotent)."""
        raise NotImplementedError(f"{type(self).__name__}.install() is not implemented")

    def uninstall(self) -> None:
        """Restore exactly what install() changed (idempotent)."""
        raise NotImplementedError(f"{type(self).__name__}.uninstall() is not implemented")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label or '(no label)'}>"


def patch(owner: Any, name: str, replacement: Any, registry: dict) -> None:
    """Replace ``owner.name``, remembering the original in ``registry`` (idempotent)."""
    key = (owner, name)
    if key in registry:
        return
    registry[key] = owner.__dict__.get(name, getattr(owner, name))
    setattr(owner, name, replacement)


def unpatch_all(registry: dict) -> None:
    for (owner, name), original in list(registry.items()):
        setattr(owner, name, original)
    registry.clear()
