"""The contract every instrument follows.

An instrument is one module with ``install()`` and ``uninstall()``. Both are idempotent: installing
twice changes nothing, uninstalling restores exactly what was there. With no recording active, the
instrumented code path costs one ContextVar read. Every wrapper catches its own failures through
``lifecycle.safety.report`` so that the user's code runs as if we were not there.
"""

from __future__ import annotations

from typing import Any


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
