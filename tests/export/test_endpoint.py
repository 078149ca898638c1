"""``GET api/traces/<id>/?format=chrome|otlp[&download=1]``: the trace converted, under the same access rules."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from lifecycle import store
from tests.export.otlp_receiver import parse

pytestmark = pytest.mark.django_db

INTERNAL = "127.0.0.1"


@pytest.fixture
def trace_url(settings) -> str:
    settings.DEBUG = True
    Client(REMOTE_ADDR=INTERNAL).get("/t/queries/2/")
    return reverse("lifecycle:api-trace", args=[store.recent()[0]["id"]])


def get(url: str, addr: str = INTERNAL):
    return Client(REMOTE_ADDR=addr).get(url)


def test_chrome_format(trace_url):
    response = get(trace_url + "?format=chrome")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    doc = json.loads(response.content)
    assert {e["ph"] for e in doc["traceEvents"]} == {"X", "M"}
    assert "Content-Disposition" not in response


def test_otlp_format(trace_url):
    response = get(trace_url + "?format=otlp")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    message = parse(response.content)
    assert message.resource_spans[0].scope_spans[0].spans[0].name == "GET /t/queries/<int:n>/"


def test_json_is_the_default(trace_url):
    assert get(trace_url + "?format=json").content == get(trace_url).content
    assert json.loads(get(trace_url).content)["format"] == "lifecycle-trace"


@pytest.mark.parametrize(("fmt", "suffix"),
                         [("json", ".json"), ("chrome", ".chrome-trace.json"), ("otlp", ".otlp.json")])
def test_downloads_are_named_by_format(trace_url, fmt, suffix):
    disposition = get(trace_url + f"?format={fmt}&download=1")["Content-Disposition"]
    assert disposition.startswith('attachment; filename="trace-') and disposition.endswith(f'-GET-t-queries-2-'
                                                                                           f'{trace_url.split("/")[-2]}{suffix}"')


def test_an_unknown_format_is_refused_naming_the_known_ones(trace_url):
    response = get(trace_url + "?format=pprof")
    assert response.status_code == 400
    assert response.json() == {"error": "format: expected one of json, chrome, otlp, got 'pprof'"}


def test_an_unknown_trace_is_404_in_any_format():
    assert get(reverse("lifecycle:api-trace", args=["nope"]) + "?format=chrome").status_code == 404


def test_the_access_rule_comes_first(trace_url):
    response = get(trace_url + "?format=chrome", addr="203.0.113.9")
    assert response.status_code == 403 and b"traceEvents" not in response.content
    assert get(trace_url + "?format=pprof", addr="203.0.113.9").status_code == 403
