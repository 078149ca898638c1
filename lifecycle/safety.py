"""The recorder's boundary: a failure of ours is logged once per kind and never reaches the request."""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger("lifecycle")

_seen: set[str] = set()
_lock = threading.Lock()
failures: dict[str, int] = {}


def report(kind: str, exc: BaseException) -> None:
    """Count a failure of ``kind`` and log it the first time it happens in this process."""
    with _lock:
        failures[kind] = failures.get(kind, 0) + 1
        first = kind not in _seen
        _seen.add(kind)
    if first:
        logger.warning(
            "django-request-lifecycle: %s failed; the request goes on without it. "
            "Further failures of this kind are counted, not logged.", kind, exc_info=exc,
        )


def reset() -> None:
    with _lock:
        _seen.clear()
        failures.clear()
