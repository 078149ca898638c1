"""Instruments: one module per stage of a request, each with idempotent ``install()``/``uninstall()``.

See ``lifecycle.instruments.base`` for the contract.
"""

from __future__ import annotations

from importlib import import_module

INSTRUMENTS = ("handler", "sql", "transactions", "templates", "jinja", "cache", "toolbar")


def _modules():
    return [import_module(f"lifecycle.instruments.{name}") for name in INSTRUMENTS]


def install_all() -> None:
    from lifecycle import conf, frames

    frames.configure(conf.get("HIDE_IN_STACKTRACES"))
    for module in _modules():
        module.install()


def uninstall_all() -> None:
    for module in reversed(_modules()):
        module.uninstall()


def _reconfigure() -> None:
    from lifecycle import conf, frames
    from lifecycle.instruments import sql

    frames.configure(conf.get("HIDE_IN_STACKTRACES"))
    sql.configure()


def _register_reset() -> None:
    from lifecycle import conf

    conf.on_reset(_reconfigure)


_register_reset()
