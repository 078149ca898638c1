"""Instruments: one module per stage of a request, each with idempotent ``install()``/``uninstall()``.

See ``lifecycle.instruments.base`` for the contract.
"""

from __future__ import annotations

import threading
from importlib import import_module

INSTRUMENTS = ("handler", "sql", "transactions", "templates", "jinja", "cache", "toolbar")

# Whether install_all() ran (and uninstall_all() did not since). Nothing is installed while lifecycle
# cannot record (lifecycle.policy): ENABLED False, or None with DEBUG off.
installed = False
_lock = threading.Lock()


def _modules():
    return [import_module(f"lifecycle.instruments.{name}") for name in INSTRUMENTS]


def install_all() -> None:
    """Install every instrument (idempotent). ``lifecycle.record()`` calls it: an explicit opt-in."""
    global installed
    from lifecycle import conf, frames

    with _lock:
        frames.configure(conf.get("HIDE_IN_STACKTRACES"))
        for module in _modules():
            module.install()
        installed = True


def ensure_installed() -> None:
    """:func:`install_all` unless it ran already (cheap enough for every recorded request)."""
    if not installed:
        install_all()


def uninstall_all() -> None:
    global installed
    with _lock:
        for module in reversed(_modules()):
            module.uninstall()
        installed = False


def _reconfigure() -> None:
    from lifecycle import conf, frames
    from lifecycle.instruments import sql

    frames.configure(conf.get("HIDE_IN_STACKTRACES"))
    sql.configure()


def _register_reset() -> None:
    from lifecycle import conf

    conf.on_reset(_reconfigure)


_register_reset()
