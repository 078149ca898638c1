"""System checks: misconfigurations reported by ``manage.py check`` with stable ids and a hint.

Every check answers only where lifecycle is installed (``apps.is_installed("lifecycle")``): a test that
overrides INSTALLED_APPS without it, as Django's own do, sees none of our messages.
"""

from __future__ import annotations

import functools
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from lifecycle import conf, policy

MIDDLEWARE_PATH = "lifecycle.middleware.LifecycleMiddleware"
LIVE_EXTRA = 'pip install "django-request-lifecycle[live]"'
REDIS_EXTRA = 'pip install "django-request-lifecycle[redis]"'
DEFAULT_ACCESS = "lifecycle.access.default_access"

_TYPES: dict[str, type | tuple[type, ...]] = {
    "LIVE_SPANS": bool,
    "MAX_SPANS": int, "STACK_DEPTH": int, "MAX_BODY": int, "RESPONSE_BODY_BYTES": int, "MAX_VALUE_LENGTH": int,
    "N_PLUS_ONE_THRESHOLD": int, "RECENT_TRACES": int, "PUBLISH_QUEUE_SIZE": int,
    "PUBLISH_LINGER": (int, float),
    "IGNORE_PATHS": (list, tuple), "HIDE_IN_STACKTRACES": (list, tuple), "REDACT_FIELDS": (list, tuple),
    "REDACT_HEADERS": (list, tuple), "REDACT_WHOLE_NAMES": (list, tuple), "REDACT_SQL_PATTERNS": (list, tuple),
    "REPLAY_CHECKS": dict, "REPLAY_TIME_TOLERANCE": (int, float), "REPLAY_TIME_SLACK_MS": (int, float),
    "REPLAY_IGNORE_SQL": (list, tuple), "REPLAY_ACTUAL_DIR": (str, type(None)),
    "REPLAY_RECORD_MODE": (str, type(None)), "TRACE_MAX_AGE": (int, float, type(None)),
    "OTLP_ENDPOINT": (str, type(None)), "OTLP_HEADERS": dict, "OTLP_SERVICE_NAME": (str, type(None)),
    "OTLP_TIMEOUT": (int, float), "OTLP_QUEUE_SIZE": int,
}



def _check(*tags, **options):
    """``register(*tags)``, answering ``[]`` where lifecycle is not an installed app."""

    def decorate(check):
        @functools.wraps(check)
        def guarded(app_configs=None, **kwargs):
            if not apps.is_installed("lifecycle"):
                return []
            return check(app_configs, **kwargs)

        return register(*tags, **options)(guarded)

    return decorate


@_check(Tags.compatibility)
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


@_check(Tags.compatibility)
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
    problems: list[CheckMessage] = []
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
    if "ENABLED" in value and not any(value["ENABLED"] is v for v in (None, True, False)):
        problems.append(Error(
            f"LIFECYCLE['ENABLED'] must be None, True or False, got {value['ENABLED']!r}.",
            hint="Leave it unset (None) to record only with DEBUG on; True records with DEBUG off too.",
            id="lifecycle.E003",
        ))
    try:
        policy.sample_rate()
    except ImproperlyConfigured as exc:
        problems.append(Error(str(exc), hint="1.0 (the default) records every request the callback accepts, "
                                             "0.1 one in ten.", id="lifecycle.E003"))
    endpoint = value.get("OTLP_ENDPOINT")
    if isinstance(endpoint, str) and endpoint and not endpoint.startswith(("http://", "https://")):
        problems.append(Error(
            f"LIFECYCLE['OTLP_ENDPOINT'] must be an http:// or https:// URL, got {endpoint!r}.",
            hint="The collector's OTLP/HTTP traces URL, e.g. 'http://collector:4318/v1/traces'; None sends nothing.",
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


@_check(Tags.compatibility)
def check_live_stack(app_configs=None, **kwargs):
    """The dashboard needs Channels for its websocket and an ASGI server (daphne) to serve it."""
    problems = []
    if find_spec("channels") is None:
        if conf.get("CHANNEL_LAYER") is None:
            return []  # live publishing turned off: nothing needs Channels
        if getattr(settings, "CHANNEL_LAYERS", None):
            return [Error(
                "CHANNEL_LAYERS is set but Django Channels is not installed: the lifecycle dashboard's live "
                "websocket and publishing need it.",
                hint=f"{LIVE_EXTRA} (Channels and daphne).",
                id="lifecycle.E004",
            )]
        return [Warning(
            "Django Channels is not installed, so the lifecycle dashboard gets no live updates "
            "(it lists the recorded traces and refreshes the list every few seconds).",
            hint=f'{LIVE_EXTRA} for the live dashboard, or set LIFECYCLE["CHANNEL_LAYER"] = None to do '
                 "without it.",
            id="lifecycle.W009",
        )]
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


@_check(Tags.security)
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


@_check(Tags.security)
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


@_check(Tags.compatibility)
def check_channel_layer(app_configs=None, **kwargs):
    """Live events go through a channel layer; a missing alias means the dashboard never updates."""
    alias = conf.get("CHANNEL_LAYER")
    if alias is None or find_spec("channels") is None:
        return []
    layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
    backend = str((layers.get(alias) or {}).get("BACKEND", "")) if isinstance(layers.get(alias), dict) else ""
    if backend.startswith("channels_redis.") and find_spec("channels_redis") is None:
        return [Error(
            f"CHANNEL_LAYERS[{alias!r}] uses {backend}, but channels_redis is not installed.",
            hint=f"{REDIS_EXTRA} (several server processes), or use channels.layers.InMemoryChannelLayer "
                 "for one.",
            id="lifecycle.E008",
        )]
    if alias not in layers:
        return [Warning(
            f"CHANNEL_LAYERS has no {alias!r} layer, so the dashboard receives no live events "
            "(it lists the recorded traces and refreshes the list every few seconds).",
            hint='Add CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}} for one '
                 "process, or channels_redis' RedisPubSubChannelLayer for several; or set "
                 "LIFECYCLE['CHANNEL_LAYER'] = None to turn live publishing off.",
            id="lifecycle.W005",
        )]
    return []


@_check(Tags.compatibility)
def check_instruments(app_configs=None, **kwargs):
    from lifecycle.instruments import InstrumentError, entry_list, load

    try:
        entries = entry_list(conf.get("INSTRUMENTS"))
    except InstrumentError as exc:
        return [Error(str(exc), hint="Start from the default, lifecycle.conf.DEFAULTS['INSTRUMENTS'], and add yours.",
                      id="lifecycle.E009")]
    problems = []
    for entry in entries:
        try:
            load([entry])
        except InstrumentError as exc:
            problems.append(Error(
                str(exc), hint="Each entry of LIFECYCLE['INSTRUMENTS'] names a module or an "
                               "lifecycle.instruments.base.Instrument class with kinds, label, install() and "
                               "uninstall(). Until it is fixed that instrument records nothing.",
                id="lifecycle.E009"))
    return problems


@_check(Tags.compatibility)
def check_record_callback(app_configs=None, **kwargs):
    try:
        policy.record_callback()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint="LIFECYCLE['RECORD_CALLBACK'] must be the dotted path of a callable taking "
                                     "the request and returning a bool, or None to record every request; "
                                     "until it is fixed nothing is recorded.", id="lifecycle.E007")]
    return []


@_check(Tags.security)
def check_recording_with_debug_off(app_configs=None, **kwargs):
    """``ENABLED: True`` with DEBUG off: recording, publishing and the dashboard on a deployed site."""
    if policy.switch() is not True or settings.DEBUG:
        return []
    sampled = conf.get("RECORD_CALLBACK") is not None or conf.get("RECORD_SAMPLE_RATE") != 1
    what = "the requests RECORD_CALLBACK and RECORD_SAMPLE_RATE let through" if sampled else "every request"
    return [Warning(
        f"LIFECYCLE['ENABLED'] is True with DEBUG off: lifecycle records {what} (SQL with its parameters, "
        "headers, bodies), publishes it on the channel layer and serves its dashboard.",
        hint="Leave ENABLED unset (None) to record only with DEBUG on. On a staging server, choose the "
             "requests with RECORD_CALLBACK and RECORD_SAMPLE_RATE and who sees them with ACCESS_CALLBACK.",
        id="lifecycle.W006",
    )]


@_check(Tags.security, deploy=True)
def check_deploy_debug(app_configs=None, **kwargs):
    """Under ``check --deploy``: DEBUG on means lifecycle records and serves its dashboard."""
    if policy.switch() is not None or not settings.DEBUG:
        return []
    return [Warning(
        "DEBUG is on, so lifecycle records every request and serves its dashboard.",
        hint="Turn DEBUG off in deployment: lifecycle then records nothing and its URLs answer 404 "
             "(LIFECYCLE['ENABLED'] = False turns it off whatever DEBUG says).",
        id="lifecycle.W008",
    )]


@_check(Tags.security)
def check_access_reachable(app_configs=None, **kwargs):
    """The default access rule where it can let nobody in, or only staff (a first visit would get a 403)."""
    if conf.get("ACCESS_CALLBACK") != DEFAULT_ACCESS or not policy.enabled():
        return []
    if not settings.DEBUG:
        return [Warning(
            "The default access rule shows the lifecycle dashboard only with DEBUG on: with DEBUG off "
            "(ENABLED True) nobody can open it.",
            hint="Set LIFECYCLE['ACCESS_CALLBACK'] to the dotted path of a callback of yours, e.g. one that "
                 "allows signed-in staff users.",
            id="lifecycle.W007",
        )]
    if getattr(settings, "INTERNAL_IPS", None):
        return []
    middleware = getattr(settings, "MIDDLEWARE", None) or []
    staff = apps.is_installed("django.contrib.auth") and any(
        str(m).endswith("AuthenticationMiddleware") for m in middleware)
    fix = 'Add INTERNAL_IPS = ["127.0.0.1", "::1"] to your settings to open it from this machine'
    if staff:
        return [Warning(
            "INTERNAL_IPS is empty: the lifecycle dashboard opens only for signed-in staff users.",
            hint=f"{fix}, or sign in as a staff user (manage.py createsuperuser).",
            id="lifecycle.W007",
        )]
    return [Warning(
        "INTERNAL_IPS is empty and no user can sign in (django.contrib.auth or its AuthenticationMiddleware "
        "is missing): the default access rule lets nobody open the lifecycle dashboard.",
        hint=f"{fix}, or set LIFECYCLE['ACCESS_CALLBACK'].",
        id="lifecycle.W007",
    )]


@_check(Tags.compatibility)
def check_trace_store(app_configs=None, **kwargs):
    """``TRACE_STORE`` and ``TRACE_STORE_OPTIONS`` make a store (nothing is opened or connected here)."""
    from lifecycle.stores import from_settings

    try:
        from_settings().close()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint="Set LIFECYCLE['TRACE_STORE'] to 'sqlite' (the default), 'redis' or 'memory', "
                                     "with TRACE_STORE_OPTIONS its keyword arguments ({'path': ...} for sqlite, "
                                     "{'url': ...} for redis). Until it is fixed each process keeps its traces "
                                     "in memory only.", id="lifecycle.E010")]
    return []
