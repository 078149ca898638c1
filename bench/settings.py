"""Settings of the benchmark site; ``BENCH_MODE`` picks the tool under test (bench/overhead.py sets it).

DEBUG is True in every mode: the tools compared here are development tools, and debug-toolbar and kolo
record nothing with DEBUG off. It also means Django's own ``CursorDebugWrapper`` (queries log) runs in
every mode alike, bare included, as on a developer's machine.
SQLite file database (``BENCH_DB``, a copy per mode made by overhead.py), locmem cache, no logging.
"""

from __future__ import annotations

import os
from typing import Any

MODE = os.environ.get("BENCH_MODE", "bare")
MODES = ("bare", "bare2", "lifecycle", "lifecycle-live", "ddt", "silk", "otel", "kolo",
         "lifecycle-nostack", "lifecycle-nolive", "lifecycle-pubonce", "lifecycle-memstore", "lifecycle-idle")

SECRET_KEY = "bench-only-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["*"]
INTERNAL_IPS = ["127.0.0.1"]
ROOT_URLCONF = "bench.urls"
USE_TZ = True
STATIC_URL = "/static/"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "bench.benchapp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES: dict[str, dict[str, Any]] = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ.get("BENCH_DB", "/tmp/bench.sqlite3")}
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING_CONFIG = None

if MODE.startswith("lifecycle"):
    # Defaults (STACK_DEPTH 5, RECENT_TRACES 100, LIVE_SPANS True): what a user gets out of the box.
    # Diagnostic variants isolate a cost: -nostack (STACK_DEPTH 0), -nolive (LIVE_SPANS False), -memstore (the
    # memory trace store: no SQLite file written by the store's background thread).
    INSTALLED_APPS += ["channels", "lifecycle"]
    MIDDLEWARE.insert(0, "lifecycle.middleware.LifecycleMiddleware")
    # As the demo site: RedisPubSubChannelLayer when LIFECYCLE_REDIS_URL is set (bench/stream.py).
    _redis_url = os.environ.get("LIFECYCLE_REDIS_URL", "")
    CHANNEL_LAYERS = {"default": (
        {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [_redis_url]}}
        if _redis_url else {"BACKEND": "channels.layers.InMemoryChannelLayer"})}
    LIFECYCLE: dict[str, Any] = {}
    if os.environ.get("BENCH_TMP"):  # the default SQLite trace store, in this run's folder
        LIFECYCLE["TRACE_STORE_OPTIONS"] = {"path": os.path.join(os.environ["BENCH_TMP"], f"traces-{MODE}.sqlite3")}
    if MODE in ("lifecycle-memstore", "lifecycle-idle"):
        LIFECYCLE["TRACE_STORE"] = "memory"
        LIFECYCLE.pop("TRACE_STORE_OPTIONS", None)
    if MODE == "lifecycle-idle":
        LIFECYCLE["IGNORE_PATHS"] = ["/heavy/", "/light/"]
    elif MODE == "lifecycle-nostack":
        LIFECYCLE["STACK_DEPTH"] = 0
    elif MODE == "lifecycle-nolive":
        LIFECYCLE["LIVE_SPANS"] = False
elif MODE == "ddt":
    # Default panels and config; the toolbar decides to show itself (DEBUG, REMOTE_ADDR in INTERNAL_IPS).
    INSTALLED_APPS += ["debug_toolbar"]
    MIDDLEWARE.insert(0, "debug_toolbar.middleware.DebugToolbarMiddleware")
    DEBUG_TOOLBAR_CONFIG = {"IS_RUNNING_TESTS": False}
elif MODE == "silk":
    # Defaults: every request recorded (SILKY_INTERCEPT_PERCENT 100) into the site's database.
    INSTALLED_APPS += ["silk"]
    MIDDLEWARE.insert(0, "silk.middleware.SilkyMiddleware")
elif MODE == "kolo":
    MIDDLEWARE.insert(0, "kolo.middleware.KoloMiddleware")
elif MODE == "migrate":
    # Only used to create the database: every app with tables.
    INSTALLED_APPS += ["silk"]
# otel: DjangoInstrumentor().instrument() inserts its middleware itself (bench/overhead.py).
