"""``from lifecycle.export import export, formats``: one call for every format, from a Trace or its JSON."""

from __future__ import annotations

import pytest

from lifecycle.export import export, formats
from lifecycle.trace import Trace, TraceFormatError
from tests.export.helpers import record_concurrent


def test_the_formats():
    assert formats() == ("json", "chrome", "otlp")


@pytest.mark.parametrize("fmt", ["json", "chrome", "otlp"])
def test_a_trace_its_dict_and_its_json_give_the_same_bytes(fmt):
    trace = record_concurrent()
    assert export(trace, fmt) == export(trace.to_dict(), fmt) == export(trace.to_json(), fmt)


def test_json_is_the_trace_file():
    trace = record_concurrent()
    assert Trace.from_json(export(trace)).to_dict() == trace.to_dict()
    assert export(trace, "json").endswith(b"\n")


def test_an_unknown_format_names_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown export format 'svg': expected one of json, chrome, otlp\."):
        export(record_concurrent(), "svg")


def test_a_dict_that_is_not_a_trace_is_refused_with_its_field():
    with pytest.raises(TraceFormatError, match=r"field 'spans'"):
        export({**record_concurrent().to_dict(), "spans": 3}, "chrome")
    with pytest.raises(TypeError, match="expected a lifecycle.trace.Trace"):
        export(42, "chrome")  # type: ignore[arg-type]
