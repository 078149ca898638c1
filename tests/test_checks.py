from __future__ import annotations

import sys

import pytest
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


# -- only where lifecycle is installed --------------------------------------------------------------------

def test_no_message_where_lifecycle_is_not_installed():
    """As Django's own admin_checks tests do: other INSTALLED_APPS, a MIDDLEWARE without ours, odd settings."""
    with override_settings(INSTALLED_APPS=["django.contrib.admin", "django.contrib.auth",
                                           "django.contrib.contenttypes", "django.contrib.messages",
                                           "django.contrib.staticfiles"],
                           MIDDLEWARE=[], LIFECYCLE=["oops"], CHANNEL_LAYERS={}):
        assert [m for m in run_checks() if m.id and m.id.startswith("lifecycle.")] == []
        assert [m for m in run_checks(include_deployment_checks=True)
                if m.id and m.id.startswith("lifecycle.")] == []


# -- recording where it should not ---------------------------------------------------------------------

def _messages(id_: str, **kwargs) -> list:
    return [m for m in run_checks(**kwargs) if m.id == id_]


def test_enabled_true_with_debug_off_warns_in_check_and_check_deploy():
    with override_settings(DEBUG=False, LIFECYCLE={"ENABLED": True}):
        (plain,) = _messages("lifecycle.W006")
        (deploy,) = _messages("lifecycle.W006", include_deployment_checks=True)
    assert "ENABLED'] is True with DEBUG off" in plain.msg and "every request" in plain.msg
    assert "RECORD_CALLBACK" in plain.hint and deploy.msg == plain.msg
    with override_settings(DEBUG=False, LIFECYCLE={"ENABLED": True, "RECORD_SAMPLE_RATE": 0.1}):
        (sampled,) = _messages("lifecycle.W006")
    assert "the requests RECORD_CALLBACK and RECORD_SAMPLE_RATE let through" in sampled.msg
    for quiet in ({"DEBUG": False}, {"DEBUG": True, "LIFECYCLE": {"ENABLED": True}},
                  {"DEBUG": False, "LIFECYCLE": {"ENABLED": False}}):
        with override_settings(**quiet):
            assert _messages("lifecycle.W006", include_deployment_checks=True) == [], quiet


def test_check_deploy_warns_that_debug_on_records():
    assert _messages("lifecycle.W008") == []  # a developer's machine: plain check is quiet
    (warning,) = _messages("lifecycle.W008", include_deployment_checks=True)
    assert "records every request" in warning.msg and "404" in warning.hint
    with override_settings(LIFECYCLE={"ENABLED": False}):
        assert _messages("lifecycle.W008", include_deployment_checks=True) == []


@pytest.mark.parametrize("value", ["yes", 1, "false"])
def test_enabled_must_be_none_true_or_false(value):
    with override_settings(LIFECYCLE={"ENABLED": value}):
        (error,) = _messages("lifecycle.E003")
    assert error.msg == f"LIFECYCLE['ENABLED'] must be None, True or False, got {value!r}."


# -- a first visit: the default access rule must be able to let someone in ----------------------------

def test_empty_internal_ips_warns_that_only_staff_get_in():
    with override_settings(INTERNAL_IPS=[]):
        (warning,) = _messages("lifecycle.W007")
    assert "only for signed-in staff users" in warning.msg
    assert 'INTERNAL_IPS = ["127.0.0.1", "::1"]' in warning.hint and "createsuperuser" in warning.hint


def test_empty_internal_ips_without_sign_in_warns_that_nobody_gets_in():
    middleware = [m for m in settings.MIDDLEWARE if not m.endswith("AuthenticationMiddleware")]
    with override_settings(INTERNAL_IPS=[], MIDDLEWARE=middleware):
        (warning,) = _messages("lifecycle.W007")
    assert "lets nobody open" in warning.msg and "INTERNAL_IPS" in warning.hint


def test_default_access_with_debug_off_warns_that_nobody_gets_in():
    with override_settings(DEBUG=False, LIFECYCLE={"ENABLED": True}):
        (warning,) = _messages("lifecycle.W007")
    assert "only with DEBUG on" in warning.msg and "ACCESS_CALLBACK" in warning.hint


def test_no_access_warning_where_it_does_not_apply():
    for quiet in ({"INTERNAL_IPS": [], "DEBUG": False},  # off: the dashboard is a 404 anyway
                  {"INTERNAL_IPS": [], "LIFECYCLE": {"ACCESS_CALLBACK": "tests.test_views.only_header"}}):
        with override_settings(**quiet):
            assert _messages("lifecycle.W007") == [], quiet


# -- which extra is missing ------------------------------------------------------------------------------

def test_missing_channels_names_the_live_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "channels", None)  # what `import channels` meets when it is not installed
    (error,) = _messages("lifecycle.E004")
    assert error.hint.startswith('pip install "django-request-lifecycle[live]"')
    with override_settings(CHANNEL_LAYERS=None):
        (warning,) = _messages("lifecycle.W009")
    assert 'pip install "django-request-lifecycle[live]"' in warning.hint and "CHANNEL_LAYER" in warning.hint
    with override_settings(LIFECYCLE={"CHANNEL_LAYER": None}):
        assert _messages("lifecycle.E004") == [] and _messages("lifecycle.W009") == []


def test_missing_channels_redis_names_the_redis_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "channels_redis", None)
    layers = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                          "CONFIG": {"hosts": ["redis://127.0.0.1:6379/0"]}}}
    with override_settings(CHANNEL_LAYERS=layers):
        (error,) = _messages("lifecycle.E008")
    assert 'pip install "django-request-lifecycle[redis]"' in error.hint
