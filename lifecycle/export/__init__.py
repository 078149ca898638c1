"""Traces in open formats: ``export(trace, "chrome")`` for Perfetto and speedscope, ``export(trace, "otlp")``
for OpenTelemetry (Jaeger, Grafana Tempo, any OTLP collector), ``export(trace, "json")`` for lifecycle's own
file. ``lifecycle.export.stream`` sends finished traces to a collector as they end (``OTLP_ENDPOINT``).

    from lifecycle.export import export
    Path("books.chrome-trace.json").write_bytes(export(trace, "chrome"))

``docs/trace-format.md`` ("Exports") describes each format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lifecycle.trace import Trace


@dataclass(frozen=True)
class Format:
    """An export format: ``name`` (``?format=``), ``label`` (for people), ``media_type`` and ``suffix`` (the
    end of a downloaded file's name)."""

    name: str
    label: str
    media_type: str
    suffix: str
    write: Callable[[Trace], bytes]


def _json(trace: Trace) -> bytes:
    return trace.to_json(indent=True) + b"\n"


def _chrome(trace: Trace) -> bytes:
    from lifecycle.export.chrome import write

    return write(trace)


def _otlp(trace: Trace) -> bytes:
    from lifecycle.export.otlp import write

    return write(trace)


FORMATS: dict[str, Format] = {
    "json": Format("json", "lifecycle trace (JSON)", "application/json", ".json", _json),
    # Not ".chrome.json": speedscope reads a file named so as a Chrome DevTools CPU profile, and refuses it.
    "chrome": Format("chrome", "Chrome Trace Event JSON (Perfetto, speedscope)", "application/json",
                     ".chrome-trace.json", _chrome),
    "otlp": Format("otlp", "OpenTelemetry OTLP/JSON", "application/json", ".otlp.json", _otlp),
}


def formats() -> tuple[str, ...]:
    """The names ``export`` takes: ``("json", "chrome", "otlp")``."""
    return tuple(FORMATS)


def as_trace(trace: Any, *, source: str = "trace") -> Trace:
    """``trace`` as a :class:`~lifecycle.trace.Trace`: a Trace, its JSON dict, or its JSON text (checked
    against the trace format; ``TraceFormatError`` names ``source`` and the field)."""
    if isinstance(trace, Trace):
        return trace
    if isinstance(trace, dict):
        return Trace.from_dict(trace, source=source)
    if isinstance(trace, (bytes, bytearray, memoryview, str)):
        return Trace.from_json(bytes(trace) if not isinstance(trace, str) else trace, source=source)
    raise TypeError(f"export() expected a lifecycle.trace.Trace, its JSON dict or its JSON text, "
                    f"got {type(trace).__name__}.")


def export(trace: Any, fmt: str = "json") -> bytes:
    """``trace`` (a Trace, its JSON dict or text) in format ``fmt`` (one of :func:`formats`), as bytes."""
    chosen = FORMATS.get(fmt) if isinstance(fmt, str) else None
    if chosen is None:
        raise ValueError(f"Unknown export format {fmt!r}: expected one of {', '.join(FORMATS)}.")
    return chosen.write(as_trace(trace))


__all__ = ["FORMATS", "Format", "as_trace", "export", "formats"]
