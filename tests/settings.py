"""Test settings: the demo site plus a small app of views made to exercise each instrument."""

from __future__ import annotations

from demo_site.settings import *  # noqa: F403
from demo_site.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "debug_toolbar", "tests.testapp"]
ROOT_URLCONF = "tests.urls"
# A developer's machine: lifecycle records only with DEBUG on (ENABLED None), and pytest-django keeps this
# value (django_debug_mode = "keep" in pyproject.toml) instead of turning DEBUG off as Django's runner does.
# Tests of the DEBUG-off behaviour use override_settings(DEBUG=False).
DEBUG = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A second database alias, to show that every alias is recorded.
DATABASES = {**DATABASES, "other": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:",  # noqa: F405
                                    "TEST": {"NAME": ":memory:"}}}

# Each test process keeps its traces in its own memory: the default store, a SQLite file per project, would be
# shared by the xdist workers (and the demo). Set as the default rather than in LIFECYCLE so that tests'
# override_settings(LIFECYCLE={...}) keep it; tests of the SQLite and Redis stores name theirs.
from lifecycle import conf as _lifecycle_conf  # noqa: E402

_lifecycle_conf.DEFAULTS["TRACE_STORE"] = "memory"
