"""django-request-lifecycle: see inside every Django request, live."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# Replay helpers and the span API, imported on first use: importing ``lifecycle`` stays free of Django imports.
_LAZY = {
    "record": "lifecycle.replay",
    "replay_trace": "lifecycle.replay",
    "ReplayTestMixin": "lifecycle.replay",
    "TraceMismatch": "lifecycle.replay",
    "ReplayError": "lifecycle.replay",
    "span": "lifecycle.spans",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lifecycle' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
