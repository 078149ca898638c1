"""Replaying recorded traces in tests (docs/replay.md).

- ``api``: the public API (``replay_trace``, ``record``, ``ReplayTestMixin``, the errors), re-exported here.
- ``options``: record modes, per-call options, trace paths. ``client``: building and sending the recorded
  request; per-request spans inside blocks. ``compare``: profiles, checks, the failure message. ``sql``:
  portable SQL keys. ``file``: the reviewable layout of recorded files.
- ``pytest_plugin`` (with ``_pytest_state``): the fixture, the options, the terminal summary; ``guard``:
  the suite-wide N+1 guard.

The public names are imported on first use: the pytest plugin lives in this package and is loaded in
every pytest run, Django project or not, so importing the package imports neither Django nor the rest of
lifecycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lifecycle.replay.api import (
        CHECKS,
        MODES,
        MalformedTrace,
        ReplayError,
        ReplayImproved,
        ReplayResult,
        ReplayTestMixin,
        TraceMismatch,
        record,
        record_mode,
        replay_trace,
    )

__all__ = [
    "CHECKS",
    "MODES",
    "MalformedTrace",
    "ReplayError",
    "ReplayImproved",
    "ReplayResult",
    "ReplayTestMixin",
    "TraceMismatch",
    "record",
    "record_mode",
    "replay_trace",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from lifecycle.replay import api

    value = getattr(api, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
