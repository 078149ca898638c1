"""Instruments: one per stage of a request, each following the contract of ``lifecycle.instruments.base``.

Which ones run is ``LIFECYCLE["INSTRUMENTS"]``: dotted paths of modules, :class:`~.base.Instrument`
subclasses (instantiated with no arguments) or instances, the built-ins by default. Loading an instrument
registers the kinds of span it records (``lifecycle.kinds``).
"""

from __future__ import annotations

import threading
from importlib import import_module
from typing import Any

from lifecycle import conf
from lifecycle import kinds as _kinds

BUILTIN: tuple[str, ...] = conf.DEFAULTS["INSTRUMENTS"]

# Whether install_all() ran (and uninstall_all() did not since). Nothing is installed while lifecycle
# cannot record (lifecycle.policy): ENABLED False, or None with DEBUG off.
installed = False
# The instruments install_all() installed, in order, with the entries they came from: uninstall_all()
# uninstalls exactly these, in reverse.
_installed: list[tuple[Any, Any]] = []
_configured: tuple = ()  # LIFECYCLE["INSTRUMENTS"] as install_all() read it
_lock = threading.RLock()


class InstrumentError(Exception):
    """An entry of ``LIFECYCLE["INSTRUMENTS"]`` cannot be used; the message names it and says why."""


def _import(path: str) -> Any:
    """The object a dotted path names: the longest importable module, then attributes (``a.b.Class``)."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        name = ".".join(parts[:i])
        try:
            obj = import_module(name)
        except ModuleNotFoundError as exc:
            # Only "this module does not exist" moves on to a shorter path; a module that exists but fails
            # to import (a missing dependency of the user's instrument) is reported as it is.
            if exc.name is not None and not name.startswith(exc.name) or i == 1:
                raise InstrumentError(f'LIFECYCLE["INSTRUMENTS"] entry {path!r} cannot be imported: {exc}.') from exc
            continue
        except ImportError as exc:
            raise InstrumentError(f'LIFECYCLE["INSTRUMENTS"] entry {path!r} cannot be imported: {exc}.') from exc
        for attr in parts[i:]:
            try:
                obj = getattr(obj, attr)
            except AttributeError:
                raise InstrumentError(
                    f'LIFECYCLE["INSTRUMENTS"] entry {path!r} cannot be imported: {name!r} has no attribute '
                    f'{attr!r}. Expected the dotted path of a module or of an Instrument class, e.g. '
                    '"lifecycle.instruments.sql".'
                ) from None
            name = f"{name}.{attr}"
        return obj
    raise InstrumentError(f'LIFECYCLE["INSTRUMENTS"] entry {path!r} cannot be imported.')


def _resolve(entry: Any) -> Any:
    obj = _import(entry) if isinstance(entry, str) else entry
    if isinstance(obj, type):
        try:
            obj = obj()
        except Exception as exc:
            raise InstrumentError(
                f'LIFECYCLE["INSTRUMENTS"] entry {entry!r}: {obj.__name__}() failed ({type(exc).__name__}: {exc}); '
                "an instrument class is instantiated with no arguments."
            ) from exc
    missing = [f"{name}()" for name in ("install", "uninstall") if not callable(getattr(obj, name, None))]
    if missing:
        raise InstrumentError(
            f'LIFECYCLE["INSTRUMENTS"] entry {entry!r} has no callable {" or ".join(missing)}: an instrument '
            "has install() and uninstall() (see lifecycle.instruments.base)."
        )
    kinds = getattr(obj, "kinds", ())
    if not isinstance(kinds, (tuple, list)) or not all(isinstance(k, _kinds.Kind) for k in kinds):
        raise InstrumentError(
            f'LIFECYCLE["INSTRUMENTS"] entry {entry!r}: kinds must be a tuple of lifecycle.kinds.Kind, '
            f"got {kinds!r}."
        )
    return obj


def label(instrument: Any) -> str:
    """How an instrument names itself (its ``label``, else its module's or class's name)."""
    text = getattr(instrument, "label", None)
    if isinstance(text, str) and text:
        return text
    return getattr(instrument, "__name__", None) or type(instrument).__name__


def load(entries: Any = None) -> list[tuple[Any, Any]]:
    """``(entry, instrument)`` for each entry of ``LIFECYCLE["INSTRUMENTS"]`` (or ``entries``), its kinds
    registered. Raises :class:`InstrumentError` naming the first entry that cannot be used."""
    loaded = []
    for entry in entry_list(entries if entries is not None else conf.get("INSTRUMENTS")):
        instrument = _resolve(entry)
        for kind in getattr(instrument, "kinds", ()):
            try:
                _kinds.register(kind)
            except ValueError as exc:
                raise InstrumentError(f'LIFECYCLE["INSTRUMENTS"] entry {entry!r}: {exc}') from exc
        loaded.append((entry, instrument))
    return loaded


def install_all() -> None:
    """Install every instrument of ``LIFECYCLE["INSTRUMENTS"]`` (idempotent). ``lifecycle.record()`` calls it:
    an explicit opt-in. An entry that cannot be loaded installs nothing of itself (``manage.py check``
    reports it as lifecycle.E009); an instrument whose install() raises is reported once and left out."""
    global installed, _configured
    from lifecycle import frames
    from lifecycle.safety import report

    with _lock:
        frames.configure(conf.get("HIDE_IN_STACKTRACES"))
        if installed:
            # Each install() is idempotent: one undone by hand (tests) is done again.
            for _entry, instrument in _installed:
                _install(instrument, report)
            return
        try:
            _configured = entry_list(conf.get("INSTRUMENTS"))
        except InstrumentError as exc:
            report("loading LIFECYCLE['INSTRUMENTS']", exc)
            _configured = ()
        # One entry at a time: an entry that cannot be loaded leaves the others recording.
        for entry in _configured:
            try:
                loaded = load([entry])
            except InstrumentError as exc:
                report("loading LIFECYCLE['INSTRUMENTS']", exc)
                continue
            for item in loaded:
                if _install(item[1], report):
                    _installed.append(item)
        installed = True


def _install(instrument: Any, report: Any) -> bool:
    """``instrument.install()``; False (reported once) when it raises."""
    try:
        instrument.install()
    except Exception as exc:
        report(f"installing the {label(instrument)} instrument", exc)
        return False
    return True


def ensure_installed() -> None:
    """:func:`install_all` unless it ran already (cheap enough for every recorded request)."""
    if not installed:
        install_all()


def uninstall_all() -> None:
    global installed
    from lifecycle.safety import report

    with _lock:
        while _installed:
            _entry, instrument = _installed.pop()
            try:
                instrument.uninstall()
            except Exception as exc:
                report(f"uninstalling the {label(instrument)} instrument", exc)
        installed = False


def active() -> list[Any]:
    """The instruments installed now, in order."""
    return [instrument for _entry, instrument in _installed]


def _reconfigure() -> None:
    from lifecycle import frames
    from lifecycle.instruments import sql

    frames.configure(conf.get("HIDE_IN_STACKTRACES"))
    sql.configure()
    with _lock:
        if installed and _configured != _entries(conf.get("INSTRUMENTS")):
            # A test (override_settings) or a reload changed the list: the new one is what runs.
            uninstall_all()
            install_all()


def _entries(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else ()


def entry_list(value: Any) -> tuple:
    """``LIFECYCLE["INSTRUMENTS"]`` as a tuple; InstrumentError when it is not a list of entries."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise InstrumentError(f'LIFECYCLE["INSTRUMENTS"] must be a list of dotted paths, got {value!r}.')
    return tuple(value)


conf.on_reset(_reconfigure)
