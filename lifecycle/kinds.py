"""The span kinds: one registry that every part reading a kind asks (summary, panel, publisher, the
trace's ``kinds`` description the dashboard styles spans from, the docs' table).

A kind is data, not a class: a span of a kind nobody registered is still recorded, summarized and drawn
(with the neutral style). An instrument registers the kinds it records (``Instrument.kinds``) when it is
loaded; :func:`lifecycle.span` spans are ``custom`` unless their caller names another kind.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}\Z")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}\Z")


@dataclass(frozen=True)
class Kind:
    """How a kind of span is described to people.

    ``name``: the ``kind`` of its spans (``[a-z][a-z0-9_]*``, at most 32 characters). ``label``: its name
    in the dashboard, the panel and the docs ("SQL"). ``symbol``: one character drawn beside its colour
    (colours are never the only cue). ``color``: ``#rrggbb``. ``live_attrs``: the attributes a span
    event may carry while the trace runs (they must be JSON-safe and redacted as soon as they are set);
    None sends every attribute that is a plain string, number, bool or None. ``description``: a line for
    the docs.
    """

    name: str
    label: str
    symbol: str
    color: str
    live_attrs: tuple[str, ...] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"Kind name {self.name!r}: expected lowercase letters, digits and _, starting "
                             "with a letter, at most 32 characters.")
        if not isinstance(self.label, str) or not self.label or len(self.label) > 40:
            raise ValueError(f"Kind {self.name!r}: label {self.label!r} must be a non-empty string of at most "
                             "40 characters.")
        if not isinstance(self.symbol, str) or len(self.symbol) != 1:
            raise ValueError(f"Kind {self.name!r}: symbol {self.symbol!r} must be exactly one character.")
        if not isinstance(self.color, str) or not _COLOR.match(self.color):
            raise ValueError(f"Kind {self.name!r}: color {self.color!r} must be '#rrggbb'.")
        if self.live_attrs is not None:
            object.__setattr__(self, "live_attrs", tuple(self.live_attrs))

    def describe(self) -> dict[str, str]:
        """The JSON form carried by traces and the dashboard's hello message."""
        return {"label": self.label, "symbol": self.symbol, "color": self.color}


NEUTRAL_COLOR = "#a3a3a3"

# The built-in kinds. Colours: the Okabe-Ito palette the dashboard's stylesheet uses (light theme).
BUILTIN: tuple[Kind, ...] = (
    Kind("request", "request", "R", "#5b6b7f", None, "The request (or another trace's root): the whole trace."),
    Kind("middleware", "middleware", "M", "#56b4e9", None,
         "One layer of the middleware chain, from the call in to the return out (contains the next layer)."),
    Kind("resolve", "URL resolve", "U", "#cc79a7", None, "URL resolution of the request's path."),
    Kind("view", "view", "V", "#0072b2", None, "The view function, including what it renders."),
    Kind("sql", "SQL", "Q", "#e69f00", ("sql", "alias", "vendor", "rows", "many", "transaction"),
         "One SQL statement on any database alias, with its user frames and template lines."),
    Kind("template", "template", "T", "#009e73", None, "One template render (Django or Jinja2), nested."),
    Kind("cache", "cache", "C", "#c9b800", None, "One call of a cache backend's API, hit or miss."),
    Kind("exception", "exception", "!", "#d55e00", ("type", "message", "handled"),
         "An exception raised through a layer, the view or a handler (zero length)."),
    Kind("stream", "streaming", "S", "#7f7f7f", None,
         "A streaming or file response, from the view's return to the response's close."),
    Kind("custom", "custom", "*", "#8e6bbf", None, "Your own code, timed with lifecycle.span()."),
)

_lock = threading.Lock()
_kinds: dict[str, Kind] = {kind.name: kind for kind in BUILTIN}
_described: dict[str, dict[str, str]] = {}


def register(kind: Kind) -> Kind:
    """Make ``kind`` known (idempotent for an equal description). Registering another description under a
    name already taken raises ValueError, naming both: two instruments must not share a kind."""
    if not isinstance(kind, Kind):
        raise TypeError(f"register() expected a lifecycle.kinds.Kind, got {type(kind).__name__}.")
    with _lock:
        known = _kinds.get(kind.name)
        if known is not None and known != kind:
            raise ValueError(f"Span kind {kind.name!r} is already registered as {known!r}; cannot register "
                             f"{kind!r}.")
        _kinds[kind.name] = kind
        _described.clear()
    return kind


def unregister(name: str) -> None:
    """Forget a kind that is not built in (tests; an instrument uninstalled for good)."""
    if any(kind.name == name for kind in BUILTIN):
        return
    with _lock:
        _kinds.pop(name, None)
        _described.clear()


def get(name: str) -> Kind | None:
    return _kinds.get(name)


def registered() -> dict[str, Kind]:
    """Every kind known now, built-ins first, by name."""
    return dict(_kinds)


def live_attrs(name: str) -> tuple[str, ...] | None:
    """The attributes a live span event of this kind carries (None: every plain one)."""
    kind = _kinds.get(name)
    return kind.live_attrs if kind is not None else None


def describe(names: Any = None) -> dict[str, dict[str, str]]:
    """``{name: {"label", "symbol", "color"}}`` for ``names`` (every registered kind when None); a name
    nobody registered is left out (the dashboard draws it neutral)."""
    if names is None:
        return {name: kind.describe() for name, kind in _kinds.items()}
    out: dict[str, dict[str, str]] = {}
    cache = _described
    for name in names:
        desc = cache.get(name)
        if desc is None:
            kind = _kinds.get(name)
            if kind is None:
                continue
            desc = cache[name] = kind.describe()
        out[name] = desc
    return out
