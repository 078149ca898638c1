"""Test settings: the demo site plus a small app of views made to exercise each instrument."""

from __future__ import annotations

from demo_site.settings import *  # noqa: F403
from demo_site.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "debug_toolbar", "tests.testapp"]
ROOT_URLCONF = "tests.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A second database alias, to show that every alias is recorded.
DATABASES = {**DATABASES, "other": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:",  # noqa: F405
                                    "TEST": {"NAME": ":memory:"}}}
