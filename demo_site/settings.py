"""Settings for the demo site, which is also the test project (pytest-django uses this module)."""

from __future__ import annotations

import os
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from demo_site.database_url import parse_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-demo-only-do-not-deploy-this-key")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") != "0"
# DJANGO_ALLOWED_HOSTS="*" (comma-separated) runs the demo as containers and many dev setups do.
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver").split(",")
INTERNAL_IPS = ["127.0.0.1", "::1"]

INSTALLED_APPS = [
    "daphne",  # first, so that its runserver (ASGI, websockets) replaces Django's
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "lifecycle",
    "demo_site.shop",
]

MIDDLEWARE = [
    "lifecycle.middleware.LifecycleMiddleware",  # first, so that it times every other layer
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo_site.urls"
ASGI_APPLICATION = "demo_site.asgi.application"
WSGI_APPLICATION = "demo_site.wsgi.application"

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
# The Jinja2 page (/jinja/) renders through Django's jinja2 backend, from demo_site/shop/jinja2/. jinja2 comes
# with the "demo" extra (make demo installs it); without it the page says so and the rest of the demo runs.
if find_spec("jinja2") is not None:
    TEMPLATES.append(
        {
            "BACKEND": "django.template.backends.jinja2.Jinja2",
            "DIRS": [],
            "APP_DIRS": True,
            "OPTIONS": {"environment": "demo_site.shop.jinja2_env.environment"},
        }
    )

_database_url = os.environ.get("DATABASE_URL", "")
DATABASES: dict[str, dict[str, Any]] = {
    "default": (
        parse_database_url(_database_url, BASE_DIR)
        if _database_url
        else {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "demo_site" / "demo.sqlite3"}
    ),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

_redis_url = os.environ.get("LIFECYCLE_REDIS_URL", "")
CHANNEL_LAYERS = {
    "default": (
        {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [_redis_url]}}
        if _redis_url
        else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    ),
}

# django-request-lifecycle: every key and its default is listed in the README's "Settings" section
# (defaults merged in lifecycle/conf.py). Empty here: the demo runs on the defaults.
LIFECYCLE: dict[str, Any] = {}
# The trace store is the default (a SQLite file of the project's own in the temp folder, or Redis with the
# Redis layer); LIFECYCLE_TRACE_STORE_PATH names another SQLite file (the browser tests give each demo
# server its own, so that servers started one after the other do not list each other's traces).
if os.environ.get("LIFECYCLE_TRACE_STORE_PATH") and not _redis_url:
    LIFECYCLE["TRACE_STORE"] = "sqlite"
    LIFECYCLE["TRACE_STORE_OPTIONS"] = {"path": os.environ["LIFECYCLE_TRACE_STORE_PATH"]}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"short": {"format": "{levelname} {name}: {message}", "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "short"}},
    "loggers": {
        "lifecycle": {
            "handlers": ["console"],
            "level": os.environ.get("LIFECYCLE_LOG_LEVEL", "WARNING"),
            "propagate": False,
        },
    },
}
