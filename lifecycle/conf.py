"""Settings: one ``LIFECYCLE`` dict in the Django settings, merged over these defaults.

Read settings through :func:`get` (cached, cleared on ``setting_changed``). Every key is documented in
the README's "Settings" section; keep the two in step.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

DEFAULTS: dict[str, Any] = {
    # Master switch. None: follow DEBUG (record, publish and serve the dashboard only with DEBUG on).
    # True: on with DEBUG off too (a staging server; `manage.py check` warns). False: off. When off, the
    # middleware passes requests through, the instruments are not installed and the dashboard answers 404.
    "ENABLED": None,
    # Dotted path to ``callback(request) -> bool`` deciding per request whether to record it (like
    # debug-toolbar's SHOW_TOOLBAR_CALLBACK), asked only when ENABLED allows recording. None: every request.
    "RECORD_CALLBACK": None,
    # Share of the requests (0.0 to 1.0) recorded among those the callback accepts, drawn at random.
    "RECORD_SAMPLE_RATE": 1.0,
    # Path prefixes never recorded (the dashboard's own page, API and STATIC_URL are always ignored;
    # "/__debug__/" is django-debug-toolbar's).
    "IGNORE_PATHS": ("/favicon.ico", "/__debug__/"),
    # Requests under MEDIA_URL (uploaded files) are not recorded either; False records them, for a site
    # that serves its media through a view of its own (permission checks, queries).
    "IGNORE_MEDIA": True,
    # The instruments that record spans: dotted paths of modules, lifecycle.instruments.base.Instrument
    # subclasses or instances (README: "Writing an instrument"). Add yours to these; leave one out to stop
    # recording its kind.
    "INSTRUMENTS": (
        "lifecycle.instruments.handler",
        "lifecycle.instruments.sql",
        "lifecycle.instruments.transactions",
        "lifecycle.instruments.templates",
        "lifecycle.instruments.jinja",
        "lifecycle.instruments.cache",
        "lifecycle.instruments.http_out",
        "lifecycle.instruments.toolbar",
        "lifecycle.instruments.channels",
    ),
    # Spans kept per trace; further spans are counted in trace["dropped"].
    "MAX_SPANS": 5000,
    # User-code frames kept per SQL query and exception (0 turns stack capture off).
    "STACK_DEPTH": 5,
    # Module prefixes whose frames count as library code, besides the stdlib and site-packages.
    "HIDE_IN_STACKTRACES": ("django.", "lifecycle.", "asgiref.", "channels.", "daphne.", "debug_toolbar."),
    # Secret names, matched as words (lifecycle.redact.words): an entry of one word matches a name having
    # that word ("auth": "x-auth-token", "authToken", never "author"); an entry of several words matches
    # them in sequence ("api_key": "X-API-Key", "apiKey"). Their values are replaced by REDACTED in query
    # strings, fragments, form, JSON and text bodies, headers, URL path arguments, exception messages.
    "REDACT_FIELDS": ("password", "passwd", "pwd", "pass", "passphrase", "passcode", "secret", "token",
                      "csrf", "csrftoken", "csrfmiddlewaretoken", "session", "sessionid", "auth",
                      "authorization", "authentication", "signature", "sig", "credential", "verifier",
                      "otp", "pin", "jwt", "cookie", "apikey", "api_key", "private_key", "privatekey",
                      "access_key", "secret_key", "signing_key", "encryption_key", "client_key", "master_key",
                      "license_key", "subscription_key", "credit_card", "card_number", "cvv", "cvc", "ssn"),
    # Names secret only as a whole name: a "key" or "code" parameter (an API key, an OAuth authorization
    # code), not "sort_key" or "zip_code".
    "REDACT_WHOLE_NAMES": ("key", "code"),
    # Header names (request and response), matched as words like REDACT_FIELDS and on top of it.
    "REDACT_HEADERS": ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-csrftoken",
                       "x-api-key", "x-auth-token"),
    # SQL whose text mentions one of these (case-insensitive) has all its parameters redacted.
    "REDACT_SQL_PATTERNS": ("password", "session_key", "session_data", "token", "secret"),
    # Request bodies larger than this (bytes) are not kept; 0 keeps no bodies.
    "MAX_BODY": 4096,
    # JSON and text responses (not HTML) up to this size (bytes) are kept, redacted like request bodies;
    # larger ones, streaming responses and other content types are not. 0 keeps none (and reads none).
    "RESPONSE_BODY_BYTES": 64 * 1024,
    # Longest string kept for one SQL parameter or header value.
    "MAX_VALUE_LENGTH": 200,
    # A duplicate-query group of at least this many queries is flagged as an N+1.
    "N_PLUS_ONE_THRESHOLD": 3,
    # How many finished traces are kept for the dashboard backlog, downloads and `manage.py lifecycle traces`:
    # the newest of all processes sharing the trace store, and each process's own newest in its memory.
    "RECENT_TRACES": 100,
    # Where finished traces are kept (lifecycle.stores): "sqlite" (a SQLite file of its own, shared by the
    # processes of one machine, kept across restarts), "redis" (shared by every process reaching the Redis),
    # "memory" (each process's own memory only), or the dotted path of a lifecycle.stores.TraceStore
    # subclass. None: "redis" where CHANNEL_LAYER is a channels_redis layer (its Redis), else "sqlite".
    "TRACE_STORE": None,
    # Keyword arguments of the store: {"path": "..."} for "sqlite" (default: a file per project in the
    # system's temp folder), {"url": "redis://...", "prefix": "..."} for "redis"; "queue_size" for any (traces
    # waiting for the background writer, 1000; past it they are dropped and counted).
    "TRACE_STORE_OPTIONS": {},
    # Seconds a trace is kept at most (None: as long as it is among the RECENT_TRACES newest).
    "TRACE_MAX_AGE": 7 * 24 * 3600,
    # Stream span events while a request is running (False: only finished traces are published).
    "LIVE_SPANS": True,
    # Events waiting to be published; when full the oldest are dropped and counted.
    "PUBLISH_QUEUE_SIZE": 10000,
    # Seconds the publisher waits to batch events before sending them to the channel layer.
    "PUBLISH_LINGER": 0.03,
    # Channel layer alias used to publish (see CHANNEL_LAYERS); None disables publishing.
    "CHANNEL_LAYER": "default",
    # -- streaming finished traces to an OpenTelemetry collector (lifecycle.export.stream) ------------------
    # OTLP/HTTP traces URL ("http://collector:4318/v1/traces"); None sends nothing. Traces are sent as
    # OTLP/JSON from a background thread, in batches; a failure never reaches a request.
    "OTLP_ENDPOINT": None,
    # Extra HTTP headers for the collector ({"Authorization": "Bearer ..."}); their values are never logged.
    "OTLP_HEADERS": {},
    # The resource's service.name; None: the settings module's package ("shop" for shop.settings).
    "OTLP_SERVICE_NAME": None,
    # Seconds to wait for the collector's answer.
    "OTLP_TIMEOUT": 5.0,
    # Finished traces waiting to be sent; past it the oldest are dropped and counted.
    "OTLP_QUEUE_SIZE": 1000,
    # Dotted path to ``callback(viewer: lifecycle.access.AccessContext) -> bool`` deciding who may see the
    # dashboard page, its JSON endpoints and its websocket (viewer has .user, .client_ip, .is_websocket,
    # .headers, .path, and .request or .scope).
    "ACCESS_CALLBACK": "lifecycle.access.default_access",
    # Seconds between two checks of the access callback on an open websocket (the viewer logged out, lost
    # staff status, the session was deleted: the dashboard is closed with 4403 at the next check).
    "ACCESS_RECHECK": 5.0,
    # Origins ("https://dev.example.com:8443") allowed to open the websocket besides the dashboard's own
    # (the scheme, host and port of the page the websocket is opened from). Never "*".
    "ALLOWED_ORIGINS": (),
    # -- each dashboard connection (a slow or hostile client cannot hold the server's memory) -------------
    # Frames sent to one dashboard before it acknowledges them; later batches wait in its queue.
    "LIVE_CLIENT_WINDOW": 8,
    # Bytes of batches waiting for one dashboard; past it the oldest are dropped and counted as missed.
    "LIVE_CLIENT_QUEUE_BYTES": 4 << 20,
    # Commands (ping, backlog) one dashboard may send per second; a burst of twice as many is allowed.
    "LIVE_CLIENT_RATE": 10,
    # The dashboard refuses trace files larger than this (bytes), and keeps at most this many spans of one
    # trace (the rest are cut off with a message), nested at most this deep.
    "DASHBOARD_MAX_TRACE_BYTES": 50_000_000,
    "DASHBOARD_MAX_SPANS": 50_000,
    "DASHBOARD_MAX_DEPTH": 256,
    # -- replaying traces in tests (lifecycle.replay, the pytest plugin; docs/replay.md) --------------------
    # Record mode when neither --lifecycle-record nor record_mode= says: "once" (write a missing trace file,
    # then compare), "none" (a missing file fails) or "all" (rewrite every file). None: "once", or "none"
    # when the environment variable CI is "true".
    "REPLAY_RECORD_MODE": None,
    # Checks switched on or off over their defaults, e.g. {"timing": True, "templates": False}. Checks:
    # view, status, templates, new_queries, more_queries, duplicates, fewer_queries (on), query_count,
    # timing (off).
    "REPLAY_CHECKS": {},
    # The pytest plugin's suite-wide N+1 guard: "fail", "warn" or "off" (--lifecycle-n-plus-one wins).
    "N_PLUS_ONE_GUARD": "off",
    # Trace kinds the guard judges: ("request", "websocket") adds the traces of Channels consumers
    # (lifecycle.channels) recorded during a test.
    "N_PLUS_ONE_GUARD_KINDS": ("request",),
    # A replay that only ran fewer queries than recorded (an N+1 fixed, nothing worse): "fail" (the default:
    # re-record to keep the gain, or a later return to the old count passes) or "warn" (pass, with a
    # lifecycle.replay.ReplayImproved warning and a note).
    "REPLAY_IMPROVEMENTS": "fail",
    # Folder for the trace of a failed replay; None: next to the recorded file, as NAME.actual.json.
    "REPLAY_ACTUAL_DIR": None,
    # Timing check: a replay may take the recorded duration times (1 + tolerance), plus the slack.
    "REPLAY_TIME_TOLERANCE": 1.0,
    "REPLAY_TIME_SLACK_MS": 10.0,
    # SQL left out of replay comparisons (regular expressions, case-insensitive): transaction control,
    # which depends on how the test wraps the request (TestCase savepoints), not on the code under test.
    "REPLAY_IGNORE_SQL": (
        r"^\s*(?:SAVEPOINT|RELEASE\s+SAVEPOINT|ROLLBACK\s+TO\s+SAVEPOINT|BEGIN|COMMIT|ROLLBACK)\b",
    ),
}

REDACTED = "********"


@cache
def _merged() -> dict[str, Any]:
    user = getattr(settings, "LIFECYCLE", None) or {}
    if not isinstance(user, dict):
        return dict(DEFAULTS)
    return {**DEFAULTS, **user}


def get(name: str) -> Any:
    return _merged()[name]


def callable_setting(name: str, takes: str, example: str, *, optional: bool = False):
    """The callable that ``LIFECYCLE[name]`` names by dotted path; ImproperlyConfigured, saying what was
    expected, when it names none. ``takes``: what the callable is called with; ``example``: a path;
    ``optional``: the setting may also be None (the caller handles that), which the message says."""
    from django.core.exceptions import ImproperlyConfigured
    from django.utils.module_loading import import_string

    path = get(name)
    if not isinstance(path, str) or not path:
        expected = "None or a dotted path to a callable" if optional else "a dotted path to a callable"
        raise ImproperlyConfigured(f'LIFECYCLE["{name}"] must be {expected}, got {path!r}.')
    try:
        callback = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f'LIFECYCLE["{name}"] = {path!r} cannot be imported ({exc}). Expected the dotted path of a '
            f'callable taking {takes}, e.g. "{example}".'
        ) from exc
    if not callable(callback):
        raise ImproperlyConfigured(
            f'LIFECYCLE["{name}"] = {path!r} is an object of type {type(callback).__name__}, expected a callable.'
        )
    return callback


def unknown_keys() -> list[str]:
    user = getattr(settings, "LIFECYCLE", None) or {}
    return sorted(k for k in user if k not in DEFAULTS) if isinstance(user, dict) else []


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "LIFECYCLE":
        _merged.cache_clear()
        for hook in _reset_hooks:
            hook()


_reset_hooks: list = []


def on_reset(hook):
    """Register ``hook()`` to run when ``LIFECYCLE`` changes (tests use override_settings)."""
    _reset_hooks.append(hook)
    return hook
