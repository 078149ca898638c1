"""``LIFECYCLE["ENABLED"]``: None follows DEBUG, True records with DEBUG off too, False is off.

Where lifecycle cannot record, nothing of Django is patched: that is decided when the process starts, so
those tests start a fresh Python with the site's settings and look at Django's own classes there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.test import Client, override_settings

from lifecycle import store
from lifecycle.live.publisher import get_publisher
from tests.conftest import last_trace

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.django_db


def test_debug_on_records_by_default():
    assert Client().get("/t/queries/2/").status_code == 200
    assert last_trace().summary["queries"] == 2


@override_settings(DEBUG=False)
def test_debug_off_records_and_publishes_nothing():
    published = get_publisher().stats()["published"]
    for path in ("/t/queries/2/", "/t/nested/", "/t/cache/", "/no/such/page/"):
        Client(raise_request_exception=False).get(path)
    assert store.recent() == []
    assert get_publisher().stats()["published"] == published


@override_settings(DEBUG=False, LIFECYCLE={"ENABLED": True})
def test_enabled_true_records_with_debug_off():
    assert Client().get("/t/queries/3/").content == b"3 queries"
    assert last_trace().summary["queries"] == 3


@override_settings(LIFECYCLE={"ENABLED": False})
def test_enabled_false_records_nothing_with_debug_on():
    assert Client().get("/t/queries/2/").content == b"2 queries"
    assert store.recent() == []


def test_debug_turned_off_and_on_at_runtime_is_followed(settings):
    client = Client()
    settings.DEBUG = False
    client.get("/t/queries/1/")
    assert store.recent() == []
    settings.DEBUG = True
    client.get("/t/queries/1/")
    assert len(store.recent()) == 1


def test_debug_set_directly_as_djangos_test_runner_does_is_followed():
    """Django's runner sets settings.DEBUG = False after the apps are ready, without a signal."""
    from django.conf import settings

    client = Client()
    client.get("/t/queries/1/")
    settings.DEBUG = False
    try:
        client.get("/t/queries/2/")
    finally:
        settings.DEBUG = True
    client.get("/t/queries/3/")
    assert [row["path"] for row in store.recent()] == ["/t/queries/3/", "/t/queries/1/"]


# -- nothing patched where lifecycle cannot record ---------------------------------------------------------

PROBE = """
import json, sys
import django
from django.core.handlers import base as handlers_base
from django.core.handlers.base import BaseHandler
from django.db.backends.utils import CursorWrapper
from django.template.base import Template

# Django's own functions, taken before the apps are ready (LifecycleConfig.ready would install there).
METHODS = ((CursorWrapper, "_execute_with_wrappers"), (BaseHandler, "resolve_request"),
           (BaseHandler, "make_view_atomic"), (Template, "render"))
ORIGINALS = {(owner, name): vars(owner)[name] for owner, name in METHODS}
CONVERT = handlers_base.convert_exception_to_response

django.setup()
from django.test.utils import setup_test_environment

setup_test_environment(debug=None)  # keep DEBUG as the settings have it

from django.core.cache import caches
from django.test import Client

import lifecycle.instruments
from lifecycle import store


def patched():
    found = [f"{owner.__name__}.{name}" for (owner, name), original in ORIGINALS.items()
             if vars(owner)[name] is not original]
    if handlers_base.convert_exception_to_response is not CONVERT:
        found.append("convert_exception_to_response")
    cache = caches["default"]
    found += [f"cache.{op}" for op in ("get", "set", "aget_many", "get_or_set") if op in vars(cache)]
    return found


before = patched()
status = Client().get("/t/cache/").status_code
out = {"before": before, "installed": lifecycle.instruments.installed, "status": status,
       "recorded": len(store.recent())}
if sys.argv[1] == "enable":
    from django.test import override_settings

    with override_settings(DEBUG=True, LIFECYCLE={"ENABLED": True}):
        Client().get("/t/cache/")
        out["after"] = patched()
        out["recorded_after"] = len(store.recent())
elif sys.argv[1] == "record":
    import lifecycle

    with lifecycle.record(sys.argv[2]):
        Client().get("/t/queries/2/")
    out["after"] = patched()
print(json.dumps(out))
"""


def probe(tmp_path: Path, settings: str, mode: str = "-", *args: str) -> dict:
    (tmp_path / "probe_settings.py").write_text(textwrap.dedent(f"""
        from tests.settings import *  # noqa: F403
        DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}}
        {settings}
    """))
    # CI unset: under CI=true, lifecycle.record would refuse to write the new trace file the probe records.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "probe_settings", "CI": "",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", PROBE, mode, *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("settings", ['LIFECYCLE = {"ENABLED": False}', "DEBUG = False"])
def test_nothing_is_patched_where_lifecycle_cannot_record(tmp_path, settings):
    result = probe(tmp_path, settings)
    assert result == {"before": [], "installed": False, "status": 200, "recorded": 0}


def test_the_instruments_are_installed_once_recording_becomes_possible(tmp_path):
    result = probe(tmp_path, "DEBUG = False", "enable")
    assert result["before"] == [] and result["recorded"] == 0
    assert set(result["after"]) >= {"CursorWrapper._execute_with_wrappers", "BaseHandler.resolve_request",
                                    "convert_exception_to_response", "Template.render", "cache.get"}
    assert result["recorded_after"] == 1


def test_lifecycle_record_is_an_opt_in_that_works_with_debug_off(tmp_path):
    trace_file = tmp_path / "block.json"
    result = probe(tmp_path, "DEBUG = False", "record", str(trace_file))
    assert result["before"] == [] and "CursorWrapper._execute_with_wrappers" in result["after"]
    spans = json.loads(trace_file.read_text())["spans"]
    assert sum(span["kind"] == "sql" for span in spans) == 2


def test_the_test_settings_record_as_a_developers_machine_does():
    """pytest-django would turn DEBUG off (django_debug_mode = "keep" in pyproject.toml prevents it)."""
    from django.conf import settings

    import lifecycle.instruments

    assert settings.DEBUG is True and lifecycle.instruments.installed
