"""Whether lifecycle is on, and whether a request is recorded: ``ENABLED``, then the site's own decision.

:func:`enabled` is the switch for everything (recording, publishing, the dashboard and its websocket):
``LIFECYCLE["ENABLED"]`` when it is True or False, else ``settings.DEBUG``, read at each call (Django's
test runner turns DEBUG off after the apps are ready, without a signal).

The middleware asks :func:`should_record` once per request, after its own cheap checks (a trace already
open, an ignored path). With no ``RECORD_CALLBACK`` and a sample rate of 1 it costs a few attribute reads.
A ``RECORD_CALLBACK`` or ``RECORD_SAMPLE_RATE`` that cannot be used turns recording off, logged once
(``manage.py check`` reports it as ``lifecycle.E007``); a callback that raises leaves that request
unrecorded, logged once, and the request goes on.

The instruments are installed when lifecycle can first record: at startup (``LifecycleConfig.ready``), or
when ``DEBUG`` or ``LIFECYCLE`` changes (``override_settings``), or at the first request recorded.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from lifecycle import conf, instruments
from lifecycle.safety import report

# (switch, callback, rate, the settings object): switch is None (follow DEBUG), True or False; None until
# first read and after any setting_changed. The object is the one behind django.conf.settings: reading
# DEBUG on it is a plain attribute read (through the lazy proxy it costs about 0.4 µs), and it is the
# object a direct ``settings.DEBUG = ...`` writes to (as Django's test runner does, with no signal).
_state: tuple[bool | None, Callable[[Any], Any] | None, float, Any] | None = None


def switch() -> bool | None:
    """``LIFECYCLE["ENABLED"]``: None (follow DEBUG), True or False; anything else counts as False."""
    value = conf.get("ENABLED")
    return value if value is None or value is True else False


def enabled() -> bool:
    """Whether lifecycle records, publishes and serves its dashboard right now."""
    value = switch()
    return bool(settings.DEBUG) if value is None else value


def record_callback() -> Callable[[Any], Any] | None:
    """The ``RECORD_CALLBACK`` callable, or None; ImproperlyConfigured when it names no callable."""
    path = conf.get("RECORD_CALLBACK")
    if path is None:
        return None
    if callable(path):
        return path
    return conf.callable_setting("RECORD_CALLBACK", "the request and returning a bool",
                                 "mysite.lifecycle.record_staff", optional=True)


def sample_rate() -> float:
    """``RECORD_SAMPLE_RATE``; ImproperlyConfigured unless it is a number from 0 to 1."""
    rate = conf.get("RECORD_SAMPLE_RATE")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ImproperlyConfigured(
            f'LIFECYCLE["RECORD_SAMPLE_RATE"] must be a number from 0.0 to 1.0, got {rate!r}.'
        )
    return float(rate)


def _load() -> tuple[bool | None, Callable[[Any], Any] | None, float, Any]:
    global _state
    try:
        # The stubs' plugin types ``settings`` as the project's settings; it is a LazySettings.
        state = (switch(), record_callback(), sample_rate(), settings._wrapped)  # type: ignore[misc]
    except ImproperlyConfigured as exc:
        report("reading LIFECYCLE['RECORD_CALLBACK'] and ['RECORD_SAMPLE_RATE'] (recording is off)", exc)
        state = (False, None, 1.0, settings._wrapped)  # type: ignore[misc]
    _state = state
    return state


def should_record(request) -> bool:
    on, callback, rate, wrapped = _state or _load()
    if not (wrapped.DEBUG if on is None else on):
        return False
    if not instruments.installed:
        instruments.ensure_installed()  # DEBUG turned on without a setting_changed signal
    if callback is None and rate >= 1.0:
        return True
    return _decide(request, callback, rate)


def _decide(request, callback, rate: float) -> bool:
    if callback is not None:
        try:
            if not callback(request):
                return False
        except Exception as exc:
            report("calling LIFECYCLE['RECORD_CALLBACK'] (the request is not recorded)", exc)
            return False
    return rate >= 1.0 or random.random() < rate


@conf.on_reset
def _forget() -> None:
    global _state
    _state = None
    if enabled():
        instruments.ensure_installed()


@receiver(setting_changed)
def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    global _state
    _state = None  # override_settings of any name replaces the settings object
    if setting == "DEBUG" and enabled():
        instruments.ensure_installed()
