"""LIFECYCLE["INSTRUMENTS"]: an instrument written outside lifecycle (tests/thirdparty, as the README shows)
records its own kind of span in the trace, the live events and the toolbar panel."""

from __future__ import annotations

import json
import re

import pytest
from django.core.checks import run_checks
from django.test import Client, override_settings

from lifecycle import conf, instruments, kinds
from lifecycle.live.encoding import live_span
from tests.conftest import last_trace
from tests.test_panels import TOOLBAR
from tests.thirdparty import jobqueue

WITH_JOBS = {"INSTRUMENTS": [*conf.DEFAULTS["INSTRUMENTS"], "tests.thirdparty.instrument.JobInstrument"]}


@pytest.fixture
def jobs():
    original = jobqueue.enqueue
    with override_settings(LIFECYCLE=WITH_JOBS):
        assert jobqueue.enqueue is not original, "the instrument is installed when the setting names it"
        yield
    assert jobqueue.enqueue is original, "and uninstalled, exactly, when the setting no longer does"
    kinds.unregister("job")


def test_a_third_party_instrument_records_its_kind(db, jobs):
    Client().get("/t/own-spans/")
    trace = last_trace()
    (job,) = trace.spans_of("job")
    checkout = next(s for s in trace.spans if s.name == "checkout")
    assert job.parent_id == checkout.id and job.name == "enqueue send_receipt"
    assert job.attrs["queue"] == "mail" and job.attrs["job_id"].startswith("mail-")
    assert trace.summary["counts"]["job"] == 1
    assert trace.kinds["job"] == {"label": "job queued", "symbol": "J", "color": "#336699"}
    # A live span event carries only the attributes the kind calls live.
    assert live_span(job)["attrs"] == {"task": "send_receipt", "queue": "mail"}


def test_the_toolbar_panel_lists_the_new_kind(db, jobs):
    with override_settings(**TOOLBAR):
        client = Client()
        html = client.get("/t/own-spans/").content.decode()
        request_id = re.search(r'data-request-id="([0-9a-f]+)"', html).group(1)
        panel = client.get("/__debug__/render_panel/", {"request_id": request_id, "panel_id": "LifecyclePanel"})
    content = panel.json()["content"]
    assert "<td>job queued</td><td>1</td>" in content
    # The panel's waterfall draws the trace it carries (a json_script element read by panel.js): the job's
    # span and its kind's description are in it.
    data = json.loads(re.search(r'<script type="application/json">(.*?)</script>', content, re.S).group(1))
    (job,) = [s for s in data["spans"] if s["kind"] == "job"]
    assert "send_receipt" in job["name"]
    assert data["kinds"]["job"]["label"] == "job queued"
    # Kinds nobody registered are listed by name.
    assert "<td>pricing</td><td>1</td>" in content


def test_leaving_an_instrument_out_stops_its_kind(db):
    without_sql = [p for p in conf.DEFAULTS["INSTRUMENTS"] if p != "lifecycle.instruments.sql"]
    with override_settings(LIFECYCLE={"INSTRUMENTS": without_sql}):
        Client().get("/t/queries/3/")
        assert last_trace().spans_of("sql") == []
    Client().get("/t/queries/3/")
    assert len(last_trace().spans_of("sql")) == 3


@pytest.mark.parametrize(("entry", "message"), [
    ("tests.thirdparty.no_such_module", "cannot be imported"),
    ("tests.thirdparty.jobqueue", "has no callable install() or uninstall()"),
    ("tests.thirdparty.instrument.Missing", "cannot be imported"),
    ("tests.thirdparty.instrument.JobInstrument.kinds", "has no callable install() or uninstall()"),
])
def test_a_bad_entry_is_a_system_check_error_naming_it(entry, message):
    with override_settings(LIFECYCLE={"INSTRUMENTS": [*conf.DEFAULTS["INSTRUMENTS"], entry]}):
        errors = [e for e in run_checks() if e.id == "lifecycle.E009"]
    assert len(errors) == 1
    assert repr(entry) in errors[0].msg and message in errors[0].msg
    # The other instruments still record.
    assert instruments.installed


def test_kinds_must_be_described_well():
    with pytest.raises(ValueError, match="symbol 'JJ' must be exactly one character"):
        kinds.Kind("job", "job", "JJ", "#336699")
    with pytest.raises(ValueError, match="color 'blue' must be '#rrggbb'"):
        kinds.Kind("job", "job", "J", "blue")
    with pytest.raises(ValueError, match="Kind name 'Job'"):
        kinds.Kind("Job", "job", "J", "#336699")
    with pytest.raises(ValueError, match="already registered"):
        kinds.register(kinds.Kind("sql", "queries", "Q", "#000000"))


def test_a_setting_that_is_not_a_list_is_reported():
    with override_settings(LIFECYCLE={"INSTRUMENTS": "lifecycle.instruments.sql"}):
        errors = [e for e in run_checks() if e.id == "lifecycle.E009"]
    assert len(errors) == 1 and "must be a list of dotted paths" in errors[0].msg
