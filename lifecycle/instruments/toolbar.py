"""django-debug-toolbar: keep the toolbar's own work out of the trace (placeholder, filled in next)."""

from __future__ import annotations


def install() -> None:
    pass


def uninstall() -> None:
    pass
