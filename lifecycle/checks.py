"""System checks: misconfigurations reported by ``manage.py check`` with stable ids and a hint."""

from __future__ import annotations

from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from lifecycle import conf

MIDDLEWARE_PATH = "lifecycle.middleware.LifecycleMiddleware"

_TYPES = {
    "ENABLED": bool, "LIVE_SPANS": bool,
    "MAX_SPANS": int, "STACK_DEPTH": int, "MAX_BODY": int, "MAX_VALUE_LENGTH": int,
    "N_PLUS_ONE_THRESHOLD": int, "RECENT_TRACES": int, "PUBLISH_QUEUE_SIZE": int,
    "PUBLISH_LINGER": (int, float),
    "IGNORE_PATHS": (list, tuple), "HIDE_IN_STACKTRACES": (list, tuple), "REDACT_FIELDS": (list, tuple),
    "REDACT_HEADERS": (list, tuple), "REDACT_WHOLE_NAMES": (list, tuple), "REDACT_SQL_PATTERNS": (list, tuple),
    "REPLAY_CHECKS": dict, "REPLAY_TIME_TOLERANCE": (int, float), "REPLAY_TIME_SLACK_MS": (int, float),
    "REPLAY_IGNORE_SQL": (list, tuple), "REPLAY_ACTUAL_DIR": (str, type(None)),
    "REPLAY_RECORD_MODE": (str, type(None)),
}


@register(Tags.compatibility)
def check_middleware(app_configs=None, **kwargs):
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    if MIDDLEWARE_PATH not in middleware:
        return [Error(
            f"{MIDDLEWARE_PATH} is not in MIDDLEWARE, so no request is recorded.",
            hint=f'Add "{MIDDLEWARE_PATH}" as the first entry of MIDDLEWARE.',
            id="lifecycle.E001",
        )]
    if middleware[0] != MIDDLEWARE_PATH:
        above = ", ".join(middleware[: middleware.index(MIDDLEWARE_PATH)])
        return [Warning(
            f"{MIDDLEWARE_PATH} is not the first entry of MIDDLEWARE; the middleware above it "
            f"({above}) is not timed and its queries are not recorded.",
            hint=f'Move "{MIDDLEWARE_PATH}" to the top of MIDDLEWARE.',
            id="lifecycle.W001",
        )]
    return []


@register(Tags.compatibility)
def check_settings(app_configs=None, **kwargs):
    value = getattr(settings, "LIFECYCLE", None)
    if value is None:
        return []
    if not isinstance(value, dict):
        return [Error(
            f"LIFECYCLE must be a dict, got {type(value).__name__}.",
            hint="Set LIFECYCLE = {...} with the keys documented in the README, or remove it.",
            id="lifecycle.E002",
        )]
    problems = []
    for key in conf.unknown_keys():
        problems.append(Warning(
            f"LIFECYCLE has an unknown key {key!r}; it is ignored.",
            hint=f"Known keys: {', '.join(sorted(conf.DEFAULTS))}.",
            id="lifecycle.W002",
        ))
    for key, expected in _TYPES.items():
        if key not in value:
            continue
        got = value[key]
        bad = not isinstance(got, expected) or (expected is int and isinstance(got, bool))
        if not bad and isinstance(got, (int, float)) and not isinstance(got, bool) and got < 0:
            bad = True
        if bad:
            names = expected.__name__ if isinstance(expected, type) else " or ".join(t.__name__ for t in expected)
            problems.append(Error(
                f"LIFECYCLE[{key!r}] must be a non-negative {names}, got {got!r}.",
                hint=f"The default is {conf.DEFAULTS[key]!r}.",
                id="lifecycle.E003",
            ))
    mode = value.get("REPLAY_RECORD_MODE")
    if isinstance(mode, str) and mode not in ("once", "none", "all", "overwrite"):
        problems.append(Error(
            f"LIFECYCLE['REPLAY_RECORD_MODE'] must be 'once', 'none' or 'all', got {mode!r}.",
            hint="Leave it unset for 'once' ('none' when CI=true).",
            id="lifecycle.E003",
        ))
    return problems


@register(Tags.compatibility)
def check_live_stack(app_configs=None, **kwargs):
    """The dashboard needs Channels for its websocket and an ASGI server (daphne) to serve it."""
    problems = []
    if find_spec("channels") is None:
        problems.append(Error(
            "The lifecycle dashboard needs Django Channels, which is not installed.",
            hint="pip install channels daphne",
            id="lifecycle.E004",
        ))
        return problems
    if not apps.is_installed("daphne"):
        problems.append(Warning(
            "'daphne' is not in INSTALLED_APPS: `manage.py runserver` will not serve the dashboard's websocket.",
            hint='Add "daphne" as the first entry of INSTALLED_APPS (and set ASGI_APPLICATION), '
                 "or serve the site with an ASGI server.",
            id="lifecycle.W003",
        ))
    if not getattr(settings, "ASGI_APPLICATION", None):
        problems.append(Warning(
            "ASGI_APPLICATION is not set: the dashboard's live websocket needs the ASGI application "
            "that routes lifecycle.routing.websocket_urlpatterns.",
            hint='Set ASGI_APPLICATION = "yourproject.asgi.application"; the README shows a complete asgi.py.',
            id="lifecycle.W004",
        ))
    return problems


@register(Tags.security)
def check_access_callback(app_configs=None, **kwargs):
    from django.core.exceptions import ImproperlyConfigured

    from lifecycle.access import get_callback

    try:
        get_callback()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint="LIFECYCLE['ACCESS_CALLBACK'] must be the dotted path of a callable "
                                     "taking a lifecycle.access.AccessContext and returning a bool.",
                      id="lifecycle.E005")]
    return []


@register(Tags.security)
def check_allowed_origins(app_configs=None, **kwargs):
    """``ALLOWED_ORIGINS`` names whole origins: a wildcard would let every site read the live stream."""
    from django.core.exceptions import ImproperlyConfigured

    from lifecycle.access import allowed_origins

    try:
        allowed_origins()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint="List the origins of pages that may open the dashboard's websocket besides "
                                     "its own; there is no wildcard.", id="lifecycle.E006")]
    return []


@register(Tags.compatibility)
def check_channel_layer(app_configs=None, **kwargs):
    """Live events go through a channel layer; a missing alias means the dashboard never updates."""
    alias = conf.get("CHANNEL_LAYER")
    if alias is None or find_spec("channels") is None:
        return []
    layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
    if alias not in layers:
        return [Warning(
            f"CHANNEL_LAYERS has no {alias!r} layer, so the dashboard receives no live events "
            "(it still shows traces when reloaded).",
            hint='Add CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}} for one '
                 "process, or channels_redis' RedisPubSubChannelLayer for several; or set "
                 "LIFECYCLE['CHANNEL_LAYER'] = None to turn live publishing off.",
            id="lifecycle.W005",
        )]
    return []
