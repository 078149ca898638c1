from __future__ import annotations

from django.conf import settings
from django.core.checks import run_checks
from django.test import override_settings

from lifecycle.checks import MIDDLEWARE_PATH


def _ids() -> set[str]:
    return {m.id for m in run_checks() if m.id and m.id.startswith("lifecycle.")}


def test_demo_configuration_is_clean():
    assert _ids() == set()


def test_missing_middleware():
    middleware = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE_PATH]
    with override_settings(MIDDLEWARE=middleware):
        assert "lifecycle.E001" in _ids()


def test_middleware_not_first():
    middleware = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE_PATH]
    middleware.insert(2, MIDDLEWARE_PATH)
    with override_settings(MIDDLEWARE=middleware):
        messages = [m for m in run_checks() if m.id == "lifecycle.W001"]
    assert messages and "SessionMiddleware" in messages[0].msg
    assert "top of MIDDLEWARE" in messages[0].hint


def test_bad_settings():
    with override_settings(LIFECYCLE=["oops"]):
        assert "lifecycle.E002" in _ids()
    with override_settings(LIFECYCLE={"MAX_SPAN": 10}):
        (msg,) = [m for m in run_checks() if m.id == "lifecycle.W002"]
        assert "'MAX_SPAN'" in msg.msg and "MAX_SPANS" in msg.hint
    with override_settings(LIFECYCLE={"MAX_SPANS": "many", "ENABLED": "yes", "STACK_DEPTH": -1}):
        errors = [m for m in run_checks() if m.id == "lifecycle.E003"]
        assert len(errors) == 3
        assert any("LIFECYCLE['MAX_SPANS'] must be a non-negative int, got 'many'" in e.msg for e in errors)
    with override_settings(LIFECYCLE={"REPLAY_RECORD_MODE": "sometimes", "REPLAY_CHECKS": ["timing"]}):
        errors = [m.msg for m in run_checks() if m.id == "lifecycle.E003"]
        assert any("'sometimes'" in e for e in errors) and any("REPLAY_CHECKS" in e for e in errors)


def test_daphne_and_asgi_missing():
    apps = [a for a in settings.INSTALLED_APPS if a != "daphne"]
    with override_settings(INSTALLED_APPS=apps):
        assert "lifecycle.W003" in _ids()
    with override_settings(ASGI_APPLICATION=None):
        assert "lifecycle.W004" in _ids()


def test_access_callback_and_channel_layer():
    with override_settings(LIFECYCLE={"ACCESS_CALLBACK": "no.such.module.allow"}):
        (error,) = [m for m in run_checks() if m.id == "lifecycle.E005"]
    assert "no.such.module.allow" in error.msg
    with override_settings(CHANNEL_LAYERS={}):
        assert "lifecycle.W005" in _ids()
    with override_settings(CHANNEL_LAYERS={}, LIFECYCLE={"CHANNEL_LAYER": None}):
        assert "lifecycle.W005" not in _ids()


def test_allowed_origins_must_name_whole_origins():
    for bad in (["*"], ["evil.example"], ["http://"], [42]):
        with override_settings(LIFECYCLE={"ALLOWED_ORIGINS": bad}):
            (error,) = [m for m in run_checks() if m.id == "lifecycle.E006"]
        assert "ALLOWED_ORIGINS" in error.msg and repr(bad[0]) in error.msg
    with override_settings(LIFECYCLE={"ALLOWED_ORIGINS": ["http://localhost:5173", "https://dev.example.com"]}):
        assert "lifecycle.E006" not in _ids()
