from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import orjson
import pytest

from lifecycle.trace import Trace, TraceFormatError
from tests.conftest import DEMO_PAGES, get_page, last_trace

SCHEMA = json.loads((Path(__file__).parent.parent / "lifecycle" / "schema" / "trace-v1.json").read_text())



@pytest.mark.parametrize("path", DEMO_PAGES)
def test_demo_traces_round_trip_and_match_the_schema(seeded, path):
    from django.test import Client

    get_page(Client(raise_request_exception=False), path)
    trace = last_trace()
    data = trace.to_dict()
    jsonschema.validate(data, SCHEMA)
    again = Trace.from_json(trace.to_json())
    assert again.to_dict() == data
    assert Trace.from_json(trace.to_json(indent=True)).to_dict() == data


def test_save_and_load(seeded, tmp_path):
    from django.test import Client

    Client().get("/books/")
    trace = last_trace()
    path = trace.save(tmp_path / "sub" / "books.json")
    assert Trace.load(path).to_dict() == trace.to_dict()


def _valid() -> dict:
    return {
        "format": "lifecycle-trace", "version": 1, "id": "abc", "started_at": "2026-01-01T00:00:00Z",
        "duration_ns": 10, "request": {"method": "GET", "path": "/"}, "response": {"status": 200},
        "resolver": None, "summary": {}, "dropped": None,
        "spans": [{"id": 0, "parent_id": None, "kind": "request", "name": "GET /", "start_ns": 0,
                   "duration_ns": 10, "attrs": {}}],
    }


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format="speedscope"), "field 'format': expected \"lifecycle-trace\", got \"speedscope\""),
        (lambda d: d.update(version=7),
         "field 'version': expected 1, got 7 (this version of lifecycle reads trace format version 1)"),
        (lambda d: d.pop("spans"), "field 'spans': expected an array, got nothing (missing)"),
        (lambda d: d["spans"][0].update(start_ns="soon"),
         "field 'spans[0].start_ns': expected an integer >= 0, got \"soon\""),
        (lambda d: d["spans"].append({**d["spans"][0], "id": 1, "parent_id": 9}),
         "field 'spans[1].parent_id': parent 9 is not an earlier span"),
        (lambda d: d["spans"].append(dict(d["spans"][0])), "field 'spans[1].id': duplicate span id 0"),
        (lambda d: d.update(duration_ns=True), "field 'duration_ns': expected an integer >= 0 or null, got true"),
    ],
)
def test_malformed_traces_name_the_field(mutate, message):
    data = _valid()
    Trace.from_dict(data)  # the unmutated document is valid
    mutate(data)
    with pytest.raises(TraceFormatError) as info:
        Trace.from_json(orjson.dumps(data), source="book_list.json")
    assert str(info.value).startswith("book_list.json:")
    assert message in str(info.value)


def test_foreign_and_broken_files(tmp_path):
    chrome = tmp_path / "chrome.json"
    chrome.write_text(json.dumps({"traceEvents": []}))
    with pytest.raises(TraceFormatError, match="this is not a django-request-lifecycle trace"):
        Trace.load(chrome)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(TraceFormatError, match=r"broken\.json: not valid JSON"):
        Trace.load(broken)
    listing = tmp_path / "list.json"
    listing.write_text("[]")
    with pytest.raises(TraceFormatError, match="list.json: expected an object, got an array of 0"):
        Trace.load(listing)
    with pytest.raises(TraceFormatError, match="no such trace file"):
        Trace.load(tmp_path / "missing.json")


def test_older_files_with_a_similar_group_pattern_still_load():
    """``similar_groups[].pattern`` (always equal to ``key``) is no longer written; files that carry it load."""
    data = _valid()
    group = {"key": "SELECT shop_book", "pattern": "SELECT shop_book", "count": 2, "total_ns": 4, "span_ids": [0],
             "fingerprints": 2}
    data["summary"] = {"similar_groups": [group]}
    jsonschema.validate(data, SCHEMA)
    assert Trace.from_json(json.dumps(data)).summary["similar_groups"] == [group]
