"""Streaming finished traces over OTLP/HTTP (``LIFECYCLE["OTLP_ENDPOINT"]``) to a real local receiver started by
the test: a threaded ``http.server`` that decodes every payload with the official ``opentelemetry-proto``
package (``tests/export/otlp_receiver.py``). No OpenTelemetry Collector binary is available in the package
registries (it ships as Go binaries and container images), so none is started here."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator

import pytest
from django.test import Client, override_settings

from lifecycle.export import stream
from tests.export.otlp_receiver import Receiver

pytestmark = pytest.mark.django_db

SECRET = "Bearer s3cr3t-token-value"


@pytest.fixture(autouse=True)
def exporter() -> Iterator[stream.OtlpExporter]:
    exp = stream.exporter()
    exp.flush(5)
    exp.reset()
    yield exp
    exp.reset()


def settings_for(url: str, **more) -> override_settings:
    return override_settings(LIFECYCLE={"OTLP_ENDPOINT": url, "OTLP_HEADERS": {"Authorization": SECRET}, **more})


def dead_url() -> str:
    """A local port nobody listens on: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1/traces"


def test_finished_traces_reach_the_collector(exporter):
    client = Client()
    with Receiver() as receiver, settings_for(receiver.url):
        for n in (1, 2, 3):
            assert client.get(f"/t/queries/{n}/").status_code == 200
        assert exporter.flush(10)
    assert receiver.errors == []
    assert receiver.requests, "nothing was sent"
    headers = receiver.requests[0][0]
    assert headers["authorization"] == SECRET and headers["content-type"] == "application/json"
    roots = [s for s in receiver.spans() if not s.parent_span_id]
    paths = sorted(next(kv.value.string_value for kv in s.attributes if kv.key == "url.path") for s in roots)
    assert paths == ["/t/queries/1/", "/t/queries/2/", "/t/queries/3/"]
    assert exporter.stats()["sent"] == 3 and exporter.stats()["failed"] == 0


def test_nothing_is_sent_or_queued_when_unset(exporter):
    with override_settings(LIFECYCLE={}):
        Client().get("/t/queries/1/")
    assert exporter.stats()["queued"] == 0


def test_a_dead_collector_never_fails_a_request_and_is_logged_once(exporter, caplog):
    client = Client()
    with settings_for(dead_url()), caplog.at_level(logging.WARNING, logger="lifecycle"):
        for _ in range(3):
            assert client.get("/t/queries/1/").status_code == 200
            assert exporter.flush(10)
    stats = exporter.stats()
    assert stats["failed"] == 3 and stats["sent"] == 0
    warnings = [r for r in caplog.records if "OTLP endpoint" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "ConnectionRefusedError" in warnings[0].getMessage()
    assert "s3cr3t" not in caplog.text, "header values are never logged"


def test_the_queue_stays_bounded_while_the_collector_hangs(exporter):
    """The collector takes the first batch and does not answer: requests go on at once, and what waits is
    bounded by OTLP_QUEUE_SIZE (the oldest dropped and counted)."""
    hold = threading.Event()
    client = Client()
    with Receiver(hold=hold) as receiver, settings_for(receiver.url, OTLP_QUEUE_SIZE=3, OTLP_TIMEOUT=30):
        assert client.get("/t/queries/1/").status_code == 200
        assert exporter.flush(0) is False  # the first trace is in flight: the collector holds it
        assert receiver.arrived.wait(10)
        for _ in range(10):
            assert client.get("/t/queries/1/").status_code == 200
        stats = exporter.stats()
        assert stats["waiting"] == 3 and stats["dropped"] == 7 and stats["queued"] == 11
        hold.set()
        assert exporter.flush(10)
    assert exporter.stats()["sent"] == 4 and receiver.errors == []
    roots = [sum(not s.parent_span_id for s in m.resource_spans[0].scope_spans[0].spans) for _, m in receiver.requests]
    assert roots == [1, 3], "the traces that waited go in one batch"


def test_a_collector_error_status_counts_as_a_failure(exporter, caplog):
    with Receiver(status=503) as receiver, settings_for(receiver.url), caplog.at_level(logging.WARNING):
        Client().get("/t/queries/1/")
        assert exporter.flush(10)
    assert exporter.stats()["failed"] == 1 and exporter.stats()["last_error"] == "HTTP 503"
    assert "HTTP 503" in caplog.text


def test_the_export_is_not_recorded_into_a_trace(exporter):
    """The sender's urllib call runs outside any trace: lifecycle's outbound-HTTP instrument records nothing."""
    from lifecycle import store

    with Receiver() as receiver, settings_for(receiver.url):
        Client().get("/t/queries/1/")
        assert exporter.flush(10)
    assert len(store.recent()) == 1
    trace = store.get(store.recent()[0]["id"])
    assert trace is not None and not trace.spans_of("http_out")


@pytest.mark.parametrize(("setting", "message"), [
    ({"OTLP_ENDPOINT": "collector:4318"}, "must be an http:// or https:// URL, got 'collector:4318'"),
    ({"OTLP_HEADERS": [("Authorization", "x")]}, "LIFECYCLE['OTLP_HEADERS'] must be a non-negative dict"),
    ({"OTLP_QUEUE_SIZE": -1}, "LIFECYCLE['OTLP_QUEUE_SIZE'] must be a non-negative int, got -1"),
])
def test_manage_py_check_reports_a_wrong_setting(setting, message):
    from django.core.checks import run_checks

    with override_settings(LIFECYCLE=setting):
        errors = [m for m in run_checks() if m.id == "lifecycle.E003"]
    assert any(message in e.msg for e in errors), [e.msg for e in errors]


def test_the_queue_is_bounded_in_bytes_and_batches_in_size(exporter, monkeypatch):
    """Big traces: what waits stays under QUEUE_BYTES (the oldest dropped), and one POST carries at most
    BATCH_BYTES of them (always at least one)."""
    from lifecycle import store

    client = Client()
    client.get("/t/queries/1/")
    size = len(store.get_json(store.recent(1)[0]["id"]) or b"")
    monkeypatch.setattr(stream, "QUEUE_BYTES", int(size * 3.5))  # room for three such traces
    monkeypatch.setattr(stream, "BATCH_BYTES", size // 2)  # less than one
    hold = threading.Event()
    with Receiver(hold=hold) as receiver, settings_for(receiver.url, OTLP_TIMEOUT=30):
        client.get("/t/queries/1/")
        exporter.flush(0)
        assert receiver.arrived.wait(10)  # the first trace is in flight, held by the collector
        for _ in range(5):
            client.get("/t/queries/1/")
        waiting = exporter.stats()["waiting"]
        assert waiting == 3 and exporter.stats()["dropped"] == 2
        hold.set()
        assert exporter.flush(10)
    roots = [sum(not s.parent_span_id for s in m.resource_spans[0].scope_spans[0].spans) for _, m in receiver.requests]
    assert roots == [1, 1, 1, 1], "one trace per POST: each is over BATCH_BYTES alone"


def test_credentials_in_the_endpoint_are_not_logged(exporter, caplog):
    url = dead_url().replace("http://", "http://lifecycle:hunter2-pass@")
    with settings_for(url), caplog.at_level(logging.WARNING, logger="lifecycle"):
        assert Client().get("/t/queries/1/").status_code == 200
        assert exporter.flush(10)
    assert exporter.stats()["failed"] == 1
    assert "OTLP endpoint" in caplog.text and "hunter2" not in caplog.text
