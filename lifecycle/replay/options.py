"""Replay settings and options: the record mode, the checks in force, and where trace files go.

Per call options are merged over the ``LIFECYCLE`` settings (``REPLAY_*`` keys in ``lifecycle.conf``);
the pytest plugin sets :data:`cli_mode` and :data:`base_dir`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lifecycle import conf
from lifecycle.replay import _pytest_state
from lifecycle.replay.client import ReplayError
from lifecycle.replay.compare import CHECKS

__unittest = True

MODES = ("once", "none", "all")
_MODE_ALIASES = {"overwrite": "all", "new": "once"}

# The --lifecycle-record option and the rootdir that relative paths start from: kept by the pytest plugin in
# lifecycle.replay._pytest_state (read here on import), and set here directly when this module was imported first.
cli_mode: str | None = _pytest_state.cli_mode
base_dir: Path | None = _pytest_state.base_dir
# What the replays of this run wrote, for the pytest terminal summary.
written: list[str] = []

REQUEST_OPTIONS = ("url", "method", "data", "content_type", "headers", "user", "secure")
COMMON_OPTIONS = (
    "record_mode",
    "checks",
    "ignore_sql",
    "time_tolerance",
    "time_slack_ms",
    "time_budget_ms",
    "actual_dir",
    "improvements",
)
IMPROVEMENTS = ("fail", "warn")


@dataclass(frozen=True)
class Config:
    mode: str
    checks: dict[str, bool]
    ignore_sql: tuple[re.Pattern[str], ...]
    time_tolerance: float
    time_slack_ms: float
    time_budget_ms: float | None
    actual_dir: str | None
    improvements: str = "fail"


def record_mode(explicit: str | None = None) -> str:
    """The record mode in force: ``--lifecycle-record``, then ``explicit``, the setting, ``CI``, ``once``."""
    setting = conf.get("REPLAY_RECORD_MODE")
    ci = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
    for origin, mode in (
        ("--lifecycle-record", cli_mode),
        ("record_mode", explicit),
        ("LIFECYCLE['REPLAY_RECORD_MODE']", setting),
    ):
        if mode:
            mode = _MODE_ALIASES.get(str(mode).lower(), str(mode).lower())
            if mode not in MODES:
                raise ReplayError(f"{origin}: expected one of {', '.join(MODES)}, got {mode!r}")
            return mode
    return "none" if ci else "once"


def config_from(options: dict[str, Any]) -> Config:
    """Pop the common options and check switches out of ``options`` and merge them over the settings."""
    checks = dict(CHECKS)
    explicit: set[str] = set()
    for origin, overrides in (
        ("LIFECYCLE['REPLAY_CHECKS']", conf.get("REPLAY_CHECKS") or {}),
        ("checks", options.pop("checks", None) or {}),
        ("option", {k: options.pop(k) for k in CHECKS if k in options}),
    ):
        if not isinstance(overrides, dict):
            raise ReplayError(f"{origin}: expected a dict of check names to True/False, got {overrides!r}")
        unknown = sorted(set(overrides) - set(CHECKS))
        if unknown:
            raise ReplayError(
                f"{origin}: unknown check {', '.join(map(repr, unknown))}; the checks are {', '.join(CHECKS)}"
            )
        checks.update({k: bool(v) for k, v in overrides.items()})
        explicit.update(overrides)
    budget = options.pop("time_budget_ms", None)
    if budget is not None and "timing" not in explicit:
        checks["timing"] = True  # giving a budget turns the timing check on, unless it was set explicitly
    ignore = _patterns("LIFECYCLE['REPLAY_IGNORE_SQL']", conf.get("REPLAY_IGNORE_SQL"))
    ignore += _patterns("ignore_sql", options.pop("ignore_sql", None) or ())
    tolerance = options.pop("time_tolerance", None)
    slack = options.pop("time_slack_ms", None)
    config = Config(
        mode=record_mode(options.pop("record_mode", None)),
        checks=checks,
        ignore_sql=ignore,
        time_tolerance=_number(
            "time_tolerance", conf.get("REPLAY_TIME_TOLERANCE") if tolerance is None else tolerance
        ),
        time_slack_ms=_number("time_slack_ms", conf.get("REPLAY_TIME_SLACK_MS") if slack is None else slack),
        time_budget_ms=None if budget is None else _number("time_budget_ms", budget),
        actual_dir=options.pop("actual_dir", None) or conf.get("REPLAY_ACTUAL_DIR"),
        improvements=_improvements(options.pop("improvements", None)),
    )
    if options:
        known = (*REQUEST_OPTIONS, *COMMON_OPTIONS, *CHECKS)
        raise TypeError(
            f"unexpected option {', '.join(map(repr, sorted(options)))}; the options are {', '.join(known)}"
        )
    return config


def _improvements(explicit: Any) -> str:
    origin, value = ("improvements", explicit) if explicit is not None else (
        "LIFECYCLE['REPLAY_IMPROVEMENTS']", conf.get("REPLAY_IMPROVEMENTS"))
    if value not in IMPROVEMENTS:
        raise ReplayError(f"{origin}: expected one of {', '.join(map(repr, IMPROVEMENTS))}, got {value!r}")
    return str(value)


def _patterns(origin: str, value: Any) -> tuple[re.Pattern[str], ...]:
    items = [value] if isinstance(value, (str, re.Pattern)) else value
    if not isinstance(items, (list, tuple)):
        raise ReplayError(f"{origin}: expected a list of regular expressions, got {value!r}")
    try:
        return tuple(p if isinstance(p, re.Pattern) else re.compile(p, re.IGNORECASE) for p in items)
    except (re.error, TypeError) as exc:
        raise ReplayError(f"{origin}: invalid regular expression: {exc}") from None


def _number(origin: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ReplayError(f"{origin}: expected a non-negative number, got {value!r}")
    return float(value)


def resolve_path(path: str | os.PathLike[str]) -> Path:
    """A relative path starts at pytest's rootdir (under pytest) or the current directory."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (base_dir or Path.cwd()) / p


def actual_path(path: Path, actual_dir: str | None = None) -> Path:
    name = path.name[:-5] if path.name.endswith(".json") else path.name
    folder = resolve_path(actual_dir) if actual_dir else path.parent
    return folder / f"{name}.actual.json"


def display(path: Path) -> str:
    for base in (base_dir, Path.cwd()):
        if base is not None:
            try:
                return str(path.relative_to(base))
            except ValueError:
                pass
    return str(path)


def missing(path: Path) -> ReplayError:
    return ReplayError(
        f"{display(path)}: no recorded trace, and the record mode is 'none' (CI=true implies it): nothing to "
        "compare with. Record it locally (pytest --lifecycle-record=once) and commit the file."
    )
