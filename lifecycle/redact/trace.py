"""A finished trace's redaction, before :func:`lifecycle.summary.finalize` builds its summary and JSON forms.

Each carrier is redacted as it is captured (headers and query strings by ``lifecycle.capture``, a query's
parameters by the SQL instrument once the query has run, ``lifecycle.redact.values.sql_params``). What is
left for the end are the values known to be secret only then (the recording's ``secrets``: URL arguments
with secret names, ``@sensitive_variables``): they are replaced everywhere, span names and attributes, the
request, the response and the resolver. The summary is built from what is left, so it holds none of them.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from lifecycle.conf import REDACTED
from lifecycle.redact.values import scrub
from lifecycle.trace import Trace


def redact_trace(trace: Trace, secrets: Collection[str] = ()) -> Trace:
    """Redact ``trace`` in place (call it once, before ``finalize``); returns it."""
    if secrets:
        scrub_trace(trace, secrets)
    return trace


def scrub_trace(trace: Trace, secrets: Collection[str]) -> None:
    """Replace known secret values everywhere in a trace (span names and attributes, SQL parameters, the
    request, response and resolver): a URL argument's token in a query's parameters, a marked variable
    quoted by an exception."""
    secrets = [s for s in dict.fromkeys(secrets) if s and s != REDACTED]
    if not secrets:
        return
    for span in trace.spans:
        span.name = scrub(span.name, secrets) if isinstance(span.name, str) else span.name
        span.attrs = _scrub_any(span.attrs, secrets)
    trace.request = _scrub_any(trace.request, secrets)
    trace.response = _scrub_any(trace.response, secrets)
    trace.resolver = _scrub_any(trace.resolver, secrets)
    if trace.summary:  # a trace finalized already (none of ours: they are redacted first)
        trace.summary = _scrub_any(trace.summary, secrets)


def _scrub_any(obj: Any, secrets: Collection[str]) -> Any:
    if isinstance(obj, str):
        return scrub(obj, secrets)
    if isinstance(obj, dict):
        return {k: _scrub_any(v, secrets) for k, v in obj.items()}
    if isinstance(obj, tuple):  # raw frames (file, line, function): finalize formats tuples
        return tuple(_scrub_any(v, secrets) for v in obj)
    if isinstance(obj, list):
        return [_scrub_any(v, secrets) for v in obj]
    return obj
