"""One corpus of trace files, read by the Python loader here and by the dashboard in
frontend/src/lib/trace-corpus.test.ts: both must accept the good files and refuse each bad one with the error
tests/trace-corpus/expected-errors.json gives (the field path and what was expected)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import orjson
import pytest

from lifecycle import trace_schema
from lifecycle.trace import Trace, TraceFormatError

ROOT = Path(__file__).parent.parent
CORPUS = ROOT / "tests" / "trace-corpus"
EXPECTED = json.loads((CORPUS / "expected-errors.json").read_text(encoding="utf-8"))
# The committed sample traces are good files too: the replay tests' recordings and the dashboard's fixtures.
GOOD = sorted([*CORPUS.glob("good/*.json"), *(ROOT / "tests" / "traces").glob("*.json"),
               *(ROOT / "frontend" / "src" / "lib" / "__fixtures__").glob("*.json")])
BAD = sorted(CORPUS.glob("bad/*.json"))


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _ecma_pattern(validator, pattern, instance, schema):
    # jsonschema uses Python's re, whose "$" also matches before a final newline; JSON Schema's patterns are
    # ECMA-262, as in the dashboard. The same translation lifecycle.trace_schema makes.
    if validator.is_type(instance, "string") and not trace_schema._ecma_pattern(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


REFERENCE = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _ecma_pattern})(
    trace_schema.SCHEMA)


def test_the_corpus_is_indexed():
    assert len(GOOD) >= 14 and len(BAD) >= 40
    assert sorted(EXPECTED) == sorted(p.name for p in BAD), "every bad file has its expected error, and only they"
    jsonschema.Draft202012Validator.check_schema(trace_schema.SCHEMA)


@pytest.mark.parametrize("path", GOOD, ids=_name)
def test_good_files_load(path):
    trace = Trace.load(path)
    data = orjson.loads(path.read_bytes())
    assert len(trace.spans) == len(data["spans"])
    assert REFERENCE.is_valid(data)


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_files_are_refused_naming_the_field(path):
    expected = EXPECTED[path.name]
    with pytest.raises(TraceFormatError) as info:
        Trace.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    if expected["path"]:
        assert f" field {expected['path']!r}: " in message
    assert expected["error"] in message


@pytest.mark.parametrize("path", GOOD + BAD, ids=_name)
def test_the_interpreter_agrees_with_jsonschema(path):
    """The schema itself, read by the jsonschema package, accepts exactly what lifecycle.trace_schema's
    interpreter accepts (the span-tree rules aside: no schema can say them)."""
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        return
    try:
        trace_schema.compile_schema(trace_schema.SCHEMA)(data)
        ours = True
    except trace_schema.Invalid:
        ours = False
    assert REFERENCE.is_valid(data) == ours


def test_a_keyword_outside_the_subset_is_refused():
    with pytest.raises(ValueError, match=r"\['oneOf'\] are not supported"):
        trace_schema.compile_schema({"oneOf": [{"type": "string"}]})
