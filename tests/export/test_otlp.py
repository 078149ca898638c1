"""OTLP/JSON: decoded with the official ``opentelemetry-proto`` package into ``ExportTraceServiceRequest``, with
OpenTelemetry's semantic-convention names."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from django.test import Client, override_settings
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from lifecycle.export import export, otlp
from lifecycle.trace import Trace
from tests.conftest import last_trace
from tests.export.otlp_receiver import parse

pytestmark = pytest.mark.django_db


def recorded(url: str, **extra) -> Trace:
    Client(raise_request_exception=False).get(url, **extra)
    return last_trace()


def decoded(trace: Trace):
    message = parse(export(trace, "otlp"))
    (resource_spans,) = message.resource_spans
    (scope_spans,) = resource_spans.scope_spans
    return resource_spans.resource, scope_spans.scope, list(scope_spans.spans)


def attrs(pb) -> dict:
    out = {}
    for kv in pb.attributes:
        which = kv.value.WhichOneof("value")
        v = getattr(kv.value, which)
        out[kv.key] = [getattr(x, x.WhichOneof("value")) for x in v.values] if which == "array_value" else v
    return out


def test_a_request_is_a_server_span_with_http_names():
    trace = recorded("/t/queries/2/?page=2", HTTP_USER_AGENT="curl/8", HTTP_HOST="localhost:8000")
    resource, scope, spans = decoded(trace)
    assert attrs(resource)["service.name"] == "tests"  # DJANGO_SETTINGS_MODULE tests.settings
    assert scope.name == "django-request-lifecycle"
    root = spans[0]
    assert root.kind == PbSpan.SPAN_KIND_SERVER
    assert root.trace_id.hex() == trace.id.rjust(32, "0") and root.span_id.hex() == "0000000000000001"
    assert root.parent_span_id == b""
    assert root.name == "GET /t/queries/<int:n>/"
    a = attrs(root)
    assert a["http.request.method"] == "GET" and a["url.path"] == "/t/queries/2/" and a["url.query"] == "page=2"
    assert a["http.route"] == "/t/queries/<int:n>/" and a["http.response.status_code"] == 200
    assert a["url.scheme"] == "http" and a["user_agent.original"] == "curl/8"
    assert a["server.address"] == "localhost" and a["server.port"] == 8000
    assert a["code.function.name"] == "tests.testapp.views.queries" and a["lifecycle.trace_id"] == trace.id
    assert root.status.code == Status.STATUS_CODE_UNSET
    assert len(spans) == len(trace.spans)
    by_id = {s.span_id: s for s in spans}
    for span in spans[1:]:
        parent = by_id[span.parent_span_id]
        assert span.trace_id == root.trace_id
        assert parent.start_time_unix_nano <= span.start_time_unix_nano <= span.end_time_unix_nano
    duration = root.end_time_unix_nano - root.start_time_unix_nano
    assert duration == trace.duration_ns


def test_queries_are_client_spans_with_database_names():
    trace = recorded("/t/queries/2/")
    _, _, spans = decoded(trace)
    sql = [s for s in spans if s.kind == PbSpan.SPAN_KIND_CLIENT]
    selects = [s for s in sql if attrs(s)["db.query.text"].startswith("SELECT")]
    assert len(selects) >= 2
    a = attrs(selects[-1])
    assert a["db.system.name"] == a["db.system"] == "sqlite"
    assert a["db.operation.name"] == "SELECT"
    assert a["db.namespace"]  # the alias's database NAME in this process's settings
    assert a["lifecycle.alias"] == "default"
    assert a["code.file.path"].endswith("tests/testapp/views.py") and a["code.line.number"] > 0
    assert a["code.function.name"] == "_select" and "tests/testapp/views.py" in a["code.stacktrace"]
    assert isinstance(a["lifecycle.params"], list)
    others = [s for s in spans if s.kind == PbSpan.SPAN_KIND_INTERNAL]
    assert {attrs(s)["lifecycle.kind"] for s in others} >= {"middleware", "view", "resolve"}


def test_an_error_sets_the_status_and_the_exception_becomes_an_event():
    trace = recorded("/t/boom/")
    _, _, spans = decoded(trace)
    root = spans[0]
    assert root.status.code == Status.STATUS_CODE_ERROR
    assert root.status.message == trace.summary["error"]
    assert attrs(root)["error.type"] == "ValueError" and attrs(root)["http.response.status_code"] == 500
    events = [(s, e) for s in spans for e in s.events]
    assert events and all(e.name == "exception" for _, e in events)
    assert {attrs(e)["exception.type"] for _, e in events} == {"ValueError"}
    assert not [s for s in spans if attrs(s)["lifecycle.kind"] == "exception"], "no zero-length exception spans"
    assert len(spans) == len([s for s in trace.spans if s.kind != "exception"])


@override_settings(LIFECYCLE={"OTLP_SERVICE_NAME": "bookshop"})
def test_the_service_name_is_a_setting():
    resource, _, _ = decoded(recorded("/t/queries/1/"))
    assert attrs(resource)["service.name"] == "bookshop"


def test_times_and_ids_follow_the_otlp_json_encoding():
    data = export(recorded("/t/queries/1/"), "otlp")
    span = orjson.loads(data)["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
    assert isinstance(span["startTimeUnixNano"], str) and span["startTimeUnixNano"].isdigit()
    assert len(span["traceId"]) == 32 and len(span["spanId"]) == 16 and len(span["parentSpanId"]) == 16
    assert isinstance(span["kind"], int)


def test_ids_of_other_shapes_are_hashed_to_32_hex():
    assert otlp.trace_id("6f1c2a0e9b3d4c55") == "00000000000000006f1c2a0e9b3d4c55"
    hashed = otlp.trace_id("books-replay_file")
    assert len(hashed) == 32 and int(hashed, 16) and hashed == otlp.trace_id("books-replay_file")
    assert otlp.trace_id("0000") != "0" * 32


def test_a_committed_trace_file_converts():
    trace = Trace.load(Path(__file__).parent.parent / "traces" / "book_list.json")
    _, _, spans = decoded(trace)
    assert len(spans) == len([s for s in trace.spans if s.kind != "exception"])


def test_outbound_http_is_a_client_span_with_the_server_address():
    trace = recorded("/t/queries/1/")
    from lifecycle.trace import Span

    call = Span(len(trace.spans) + 10, 0, "http_out", "GET api.example.com/v1/books", 1000, 5000,
                {"method": "GET", "url": "https://api.example.com/v1/books?page=2", "library": "requests",
                 "status": 503, "error": "HTTPError: 503", "stack": [["shop/views.py", 12, "fetch"]]})
    trace.spans.append(call)
    _, _, spans = decoded(trace)
    (client,) = [s for s in spans if attrs(s).get("lifecycle.kind") == "http_out"]
    assert client.kind == PbSpan.SPAN_KIND_CLIENT
    a = attrs(client)
    assert a["http.request.method"] == "GET" and a["url.full"] == "https://api.example.com/v1/books?page=2"
    assert a["server.address"] == "api.example.com" and a["server.port"] == 443
    assert a["http.response.status_code"] == 503 and a["error.type"] == "HTTPError"
    assert a["code.file.path"] == "shop/views.py" and a["code.line.number"] == 12
    assert client.status.code == Status.STATUS_CODE_ERROR and client.status.message == "HTTPError: 503"


def test_a_websocket_trace_is_a_server_span_named_after_its_event():
    from lifecycle.trace import Span

    trace = Trace("a1b2c3d4e5f60718", "2026-01-01T00:00:00.000000Z", 2000,
                  {"method": "WS", "path": "/ws/chat/", "scheme": "ws", "event": "receive"}, None,
                  {"view": "chat.consumers.Chat", "route": None}, [
                      Span(0, None, "consumer", "receive /ws/chat/", 0, 2000, {"event": "receive"}),
                  ], kind="websocket")
    _, _, spans = decoded(trace)
    assert spans[0].kind == PbSpan.SPAN_KIND_SERVER and spans[0].name == "receive /ws/chat/"
    a = attrs(spans[0])
    assert a["url.path"] == "/ws/chat/" and a["url.scheme"] == "ws" and "http.request.method" not in a
    assert spans[0].start_time_unix_nano == 1767225600 * 10**9
