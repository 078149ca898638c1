"""``RECORD_CALLBACK`` decides per request whether to record it; ``RECORD_SAMPLE_RATE`` applies after it."""

from __future__ import annotations

import logging

import pytest
from django.core.checks import run_checks
from django.http import HttpRequest
from django.test import Client, override_settings

from lifecycle import safety, store

pytestmark = pytest.mark.django_db

seen: list = []


def only_marked(request) -> bool:
    seen.append(request)
    return request.GET.get("record") == "yes"


def everything(request) -> bool:
    seen.append(request)
    return True


def broken(request) -> bool:
    raise RuntimeError("the site's callback is broken")


NOT_CALLABLE = 42


@pytest.fixture(autouse=True)
def fresh():
    seen.clear()
    safety.reset()  # failures are logged once per process: each test sees its own
    yield
    seen.clear()


def recorded_paths() -> list[str]:
    return [row["path"] for row in store.recent()]


@override_settings(LIFECYCLE={"RECORD_CALLBACK": "tests.test_record_callback.only_marked"})
def test_the_callback_decides_per_request():
    client = Client()
    assert client.get("/t/queries/1/", {"record": "yes"}).content == b"1 queries"
    assert client.get("/t/queries/2/", {"record": "no"}).content == b"2 queries"
    assert client.get("/t/queries/3/").content == b"3 queries"
    assert recorded_paths() == ["/t/queries/1/"]
    assert len(seen) == 3 and all(isinstance(r, HttpRequest) for r in seen)


@override_settings(LIFECYCLE={"RECORD_CALLBACK": only_marked})
def test_the_callback_may_be_the_callable_itself():
    Client().get("/t/queries/1/", {"record": "yes"})
    Client().get("/t/queries/2/")
    assert recorded_paths() == ["/t/queries/1/"]


@override_settings(DEBUG=False, LIFECYCLE={"RECORD_CALLBACK": "tests.test_record_callback.everything"})
def test_the_callback_is_not_asked_when_lifecycle_is_off():
    Client().get("/t/queries/1/")
    assert seen == [] and store.recent() == []


@override_settings(LIFECYCLE={"RECORD_CALLBACK": "tests.test_record_callback.broken"})
def test_a_callback_that_raises_leaves_the_request_unrecorded_and_is_logged_once(caplog):
    caplog.set_level(logging.WARNING, logger="lifecycle")
    for n in (1, 2):
        assert Client().get(f"/t/queries/{n}/").content == f"{n} queries".encode()
    assert store.recent() == []
    warnings = [r for r in caplog.records if r.name == "lifecycle"]
    assert len(warnings) == 1 and "RECORD_CALLBACK" in warnings[0].getMessage()
    assert "the site's callback is broken" in caplog.text


@pytest.mark.parametrize("path", ["tests.test_record_callback.no_such_function", "no.such.module.f",
                                  "tests.test_record_callback.NOT_CALLABLE", 42])
def test_a_callback_that_cannot_be_used_turns_recording_off_logged_once_and_checked(path, caplog):
    caplog.set_level(logging.WARNING, logger="lifecycle")
    with override_settings(LIFECYCLE={"RECORD_CALLBACK": path}):
        for n in (1, 2):
            assert Client().get(f"/t/queries/{n}/").status_code == 200
        assert store.recent() == []
        (error,) = [m for m in run_checks() if m.id == "lifecycle.E007"]
    assert repr(path) in error.msg and "RECORD_CALLBACK" in error.msg
    warnings = [r for r in caplog.records if r.name == "lifecycle"]
    assert len(warnings) == 1 and "RECORD_CALLBACK" in warnings[0].getMessage()


def test_a_valid_callback_passes_the_checks():
    with override_settings(LIFECYCLE={"RECORD_CALLBACK": "tests.test_record_callback.only_marked",
                                      "RECORD_SAMPLE_RATE": 0.25}):
        assert not [m for m in run_checks() if m.id in ("lifecycle.E003", "lifecycle.E007")]


@override_settings(LIFECYCLE={"RECORD_SAMPLE_RATE": 0})
def test_a_sample_rate_of_0_records_nothing():
    for n in range(1, 6):
        Client().get(f"/t/queries/{n}/")
    assert store.recent() == []


@override_settings(LIFECYCLE={"RECORD_SAMPLE_RATE": 1.0})
def test_a_sample_rate_of_1_records_everything():
    for n in range(1, 6):
        Client().get(f"/t/queries/{n}/")
    assert len(store.recent()) == 5


@override_settings(LIFECYCLE={"RECORD_CALLBACK": "tests.test_record_callback.everything", "RECORD_SAMPLE_RATE": 0})
def test_sampling_applies_after_the_callback():
    Client().get("/t/queries/1/")
    assert len(seen) == 1 and store.recent() == []


@pytest.mark.parametrize("rate", [1.5, -0.1, "half", True, None])
def test_a_bad_sample_rate_is_a_check_error_and_turns_recording_off(rate, caplog):
    caplog.set_level(logging.WARNING, logger="lifecycle")
    with override_settings(LIFECYCLE={"RECORD_SAMPLE_RATE": rate}):
        assert Client().get("/t/queries/1/").status_code == 200
        assert store.recent() == []
        errors = [m.msg for m in run_checks() if m.id == "lifecycle.E003"]
    assert errors == [f'LIFECYCLE["RECORD_SAMPLE_RATE"] must be a number from 0.0 to 1.0, got {rate!r}.']
    assert "RECORD_SAMPLE_RATE" in caplog.text
