"""Replaying recorded traces in tests: a saved trace becomes a performance regression test.

Three ways in, one behaviour:

- ``replay_trace(path, client=None, **options)``: send the request stored in the trace file again through
  the Django test client, against today's code and the test database, record a new trace and compare.
  The pytest fixture ``lifecycle_replay(path, **options)`` and ``ReplayTestMixin.assertTraceReplays`` call it.
- ``record(path, **options)``: a context manager and decorator that records a whole block of test code
  (any number of requests, or none) as one trace and compares it the same way.

The trace file is the same JSON as a trace downloaded from the dashboard (``store.get_json``). When the
file does not exist it is written (record mode ``once``, the default); ``none`` (implied by ``CI=true``)
fails instead, and ``all`` rewrites every file. The mode comes from ``--lifecycle-record=MODE``, then the
call's ``record_mode=``, then ``LIFECYCLE["REPLAY_RECORD_MODE"]``, then ``CI``.

A mismatch raises :class:`TraceMismatch` (an ``AssertionError``) whose message lists each failed check
with the recorded and new numbers, the new or grown SQL fingerprints with the user-code frame that ran
them, and the path of the new trace, written next to the recorded one as ``NAME.actual.json`` (or in
``REPLAY_ACTUAL_DIR``). The checks are listed in :data:`lifecycle.replay.compare.CHECKS`; see docs/replay.md.
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from asgiref.sync import iscoroutinefunction

from lifecycle import capture, conf, redact
from lifecycle.instruments import install_all
from lifecycle.recorder import Recording
from lifecycle.redact.trace import redact_trace
from lifecycle.replay.client import (
    AS_RECORDED,
    ReplayError,
    RequestSpec,
    activate_block,
    apply_overrides,
    consume_streaming,
    deactivate_block,
    log_in,
    request_record,
    send,
    spec_from_request,
)
from lifecycle.replay.compare import CHECKS, Comparison, compare, format_failure
from lifecycle.replay.file import write_recording
from lifecycle.replay.options import (
    COMMON_OPTIONS,
    MODES,
    REQUEST_OPTIONS,
    Config,
    actual_path,
    config_from,
    display,
    missing,
    record_mode,
    resolve_path,
    written,
)
from lifecycle.summary import finalize
from lifecycle.trace import Trace, TraceFormatError

__all__ = [
    "CHECKS",
    "MODES",
    "MalformedTrace",
    "ReplayError",
    "ReplayImproved",
    "ReplayResult",
    "ReplayTestMixin",
    "TraceMismatch",
    "record",
    "record_mode",
    "replay_trace",
]

# unittest leaves this module's frames out of failure tracebacks (pytest: __tracebackhide__).
__unittest = True

logger = logging.getLogger("lifecycle.replay")


class TraceMismatch(ReplayError):
    """The replay differs from the recording in at least one enabled check."""

    def __init__(self, message: str, result: ReplayResult) -> None:
        super().__init__(message)
        self.result = result

    @property
    def comparison(self) -> Comparison | None:
        return self.result.comparison


class ReplayImproved(UserWarning):
    """A replay ran fewer queries than recorded and nothing worse, passed with ``improvements="warn"``:
    re-record to keep the gain (``--lifecycle-record=all``)."""


class MalformedTrace(ReplayError, TraceFormatError):
    """The trace file is not a valid trace; the message names the file and the field."""


@dataclass
class ReplayResult:
    path: Path
    trace: Trace
    recorded: Trace | None = None
    response: Any = None
    comparison: Comparison | None = None
    written: Path | None = None
    notes: list[str] = field(default_factory=list)


def _load(path: Path) -> Trace:
    __tracebackhide__ = True
    try:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise TraceFormatError(f"{display(path)}: cannot read trace file: {exc}") from None
        return Trace.from_json(data, source=display(path))
    except TraceFormatError as exc:
        raise MalformedTrace(
            f"{exc}\n(fix the file, download the trace again from the dashboard, or re-record it with "
            "--lifecycle-record=all)"
        ) from None


# -- replaying one request -----------------------------------------------------------------------------


def replay_trace(path: str | os.PathLike[str], client: Any = None, **options: Any) -> ReplayResult:
    """Send the trace file's request again, record it, and compare (see the module docstring).

    Request options replace parts of the recorded request: ``url`` (path and query), ``method``,
    ``data`` (bytes, str, or a dict sent form-encoded), ``content_type``, ``headers`` (added),
    ``secure``, ``user`` (a user, a username, or None for anonymous). When the file does not exist yet,
    ``url`` (and the others) describe the request to record.
    """
    __tracebackhide__ = True
    request_options = {k: options.pop(k) for k in REQUEST_OPTIONS if k in options}
    request_options.setdefault("user", AS_RECORDED)
    config = config_from(options)
    file = resolve_path(path)
    shown = display(file)
    recorded: Trace | None = None
    if file.is_file():
        if config.mode != "all" or not request_options.get("url"):
            recorded = _load(file)
    elif config.mode == "none":
        raise missing(file)
    elif not request_options.get("url"):
        raise ReplayError(
            f"{shown}: no such trace file to replay. To record it on this run, pass the "
            "request: url='/path/?query' (and method=, data=, user= as needed)"
        )

    if recorded is not None and recorded.kind != "request":
        raise ReplayError(
            f"{shown}: a {recorded.kind!r} trace ({recorded.spans[0].name if recorded.spans else '?'}); "
            "replay sends HTTP requests again, so only request traces replay"
        )
    spec = spec_from_request(recorded.request, shown) if recorded is not None else RequestSpec()
    spec = apply_overrides(spec, **request_options)
    from django.test import AsyncClient, Client

    if client is None:
        client = Client()
    elif isinstance(client, AsyncClient):
        raise ReplayError("replay_trace needs a django.test.Client; async views run through it as they are")
    user = log_in(client, spec, shown)
    expect_error = recorded is not None and bool(
        (recorded.status or 0) >= 500 or recorded.summary.get("error")
    )
    trace, response = _run(client, spec, user, expect_error)
    result = ReplayResult(file, trace, recorded if config.mode != "all" else None, response, notes=spec.notes)
    return _conclude(result, config, what=spec.describe())


def _run(
    client: Any, spec: RequestSpec, user: dict[str, Any] | None, expect_error: bool
) -> tuple[Trace, Any]:
    __tracebackhide__ = True
    install_all()  # idempotent; done by the app's ready() unless "lifecycle" is not in INSTALLED_APPS
    path = redact.url(spec.path)
    rec = Recording(
        "request",
        f"{spec.method} {path}",
        {"method": spec.method, "path": path},
        max_spans=conf.get("MAX_SPANS"),
    )
    # A recorded server error is replayed as a 500 response, not as the exception the test client
    # would re-raise; any other exception in the view propagates to the test as it is.
    raise_exceptions = getattr(client, "raise_request_exception", None)
    if expect_error and raise_exceptions:
        client.raise_request_exception = False
    rec.activate()
    try:
        response = send(client, spec)
        consume_streaming(response)
    finally:
        rec.deactivate()
        if expect_error and raise_exceptions:
            client.raise_request_exception = raise_exceptions
    rec.end(rec.request_span)
    trace = rec.finish()
    trace.request = request_record(response, spec, user)
    trace.response = capture.response_info(response)
    finalize(redact_trace(trace, rec.secrets))
    return trace, response


# -- the verdict, shared by replays and blocks -----------------------------------------------------------


def _previous(file: Path) -> Trace | None:
    """The recording a rewrite replaces, whose ids, timings and database noise the new file keeps where
    nothing changed (lifecycle.replay.file); None when it is not a trace any more."""
    try:
        return Trace.load(file)
    except TraceFormatError:
        return None


def _conclude(result: ReplayResult, config: Config, *, what: str) -> ReplayResult:
    __tracebackhide__ = True
    file = result.path
    shown = display(file)
    actual = actual_path(file, config.actual_dir)
    if result.recorded is None:
        existed = file.exists()
        changed = write_recording(result.trace, file, _previous(file) if existed else None)
        result.written = file
        if not existed:
            reason = f"recorded on first run (record mode {config.mode})"
        else:
            reason = "rewritten (record mode all)" if changed else "unchanged (record mode all)"
        result.notes.append(f"{shown}: {reason}")
        written.append(f"{shown} ({what}): {reason}")
        logger.info("lifecycle replay: %s %s", shown, reason)
        if actual.exists():
            actual.unlink()
        return result
    comparison = compare(
        result.recorded,
        result.trace,
        checks=config.checks,
        ignore_sql=config.ignore_sql,
        time_tolerance=config.time_tolerance,
        time_slack_ms=config.time_slack_ms,
        time_budget_ms=config.time_budget_ms,
        n_plus_one_threshold=conf.get("N_PLUS_ONE_THRESHOLD"),
    )
    result.comparison = comparison
    result.notes[:0] = comparison.notes
    if comparison.ok:
        if actual.exists():
            actual.unlink()  # a stale actual file from an earlier failure
        return result
    timing_failed = any(f.check == "timing" for f in comparison.failures)
    write_recording(result.trace, actual, result.recorded, keep_timings=not timing_failed)
    result.written = actual
    message = format_failure(
        comparison,
        source=shown,
        what=what,
        actual_path=display(actual),
        notes=result.notes[len(comparison.notes) :],
    )
    if comparison.improved and config.improvements == "warn":
        result.notes.append(message.splitlines()[0] + ": re-record with --lifecycle-record=all to keep the gain")
        warnings.warn(ReplayImproved(message), stacklevel=3)
        return result
    raise TraceMismatch(message, result)


# -- recording a block ---------------------------------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])


class record:
    """Record a block of test code as one trace and compare it with ``path`` (a context manager, an async
    context manager, or a decorator of sync and async test functions)::

        with lifecycle.record("tests/traces/checkout.json"):
            client.post("/cart/add/", {"book": 1})
            client.post("/checkout/")

    Each request made inside is a ``request`` span (method, path, status) of the block's trace; the
    middleware starts no trace of its own inside. Options as for :func:`replay_trace`, without the
    request options; ``label`` names the block (default: the decorated function, or the file name).
    After the block, ``.result`` holds the :class:`ReplayResult`.
    """

    def __init__(self, path: str | os.PathLike[str], *, label: str | None = None, **options: Any) -> None:
        self.path = path
        self.label = label
        self.options = options
        self.result: ReplayResult | None = None
        self._state: tuple | None = None
        unknown = sorted(set(options) - {*COMMON_OPTIONS, *CHECKS})
        if unknown:  # a wrong option fails here, before the block runs (settings are read on entry)
            raise TypeError(
                f"unexpected option {', '.join(map(repr, unknown))}; "
                f"the options are label, {', '.join((*COMMON_OPTIONS, *CHECKS))}"
            )

    def __enter__(self) -> record:
        __tracebackhide__ = True
        config = config_from(dict(self.options))
        file = resolve_path(self.path)
        recorded = None
        if file.is_file() and config.mode != "all":
            recorded = _load(file)
        elif not file.exists() and config.mode == "none":
            raise missing(file)
        label = self.label or (file.name[:-5] if file.name.endswith(".json") else file.name)
        install_all()
        rec = Recording("block", label, {"label": label}, max_spans=conf.get("MAX_SPANS"))
        rec.activate()
        token = activate_block(rec)
        self._state = (config, file, recorded, rec, token, label)
        return self

    def __exit__(self, exc_type, exc, tb) -> Literal[False]:
        __tracebackhide__ = True
        assert self._state is not None, "record.__exit__ without __enter__"
        config, file, recorded, rec, token, label = self._state
        self._state = None
        deactivate_block(token)
        rec.deactivate()
        if exc_type is not None:
            return False  # the block failed: its own error is the one to see
        rec.end(rec.request_span)
        trace = rec.finish()
        requests = [s for s in trace.spans if s.kind == "request" and s.parent_id is not None]
        trace.request = {
            "method": None,
            "path": None,
            "query": "",
            "headers": {},
            "body": None,
            "body_omitted": None,
            "content_type": "",
            "scheme": "",
            "user": None,
            "block": label,
            "requests": len(requests),
        }
        if len(requests) != 1:
            trace.resolver = None  # the resolve spans say where each request went
        finalize(redact_trace(trace, rec.secrets))
        self.result = ReplayResult(file, trace, recorded)
        _conclude(
            self.result,
            config,
            what=f"block {label!r}, {len(requests)} request{'' if len(requests) == 1 else 's'}",
        )
        return False

    async def __aenter__(self) -> record:
        return self.__enter__()

    async def __aexit__(self, exc_type, exc, tb) -> Literal[False]:
        __tracebackhide__ = True
        return self.__exit__(exc_type, exc, tb)

    def __call__(self, func: F) -> F:
        path, options = self.path, self.options
        label = self.label or func.__qualname__
        if iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                __tracebackhide__ = True
                async with record(path, label=label, **options):
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            with record(path, label=label, **options):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


# -- unittest / Django TestCase ------------------------------------------------------------------------


class ReplayTestMixin:
    """``self.assertTraceReplays(path, **options)`` for ``unittest`` and Django test cases; uses
    ``self.client`` (Django's ``TestCase.client``) unless ``client=`` is given."""

    def assertTraceReplays(
        self, path: str | os.PathLike[str], client: Any = None, **options: Any
    ) -> ReplayResult:
        __tracebackhide__ = True
        return replay_trace(path, client if client is not None else getattr(self, "client", None), **options)


# Named as users import them (tracebacks and warnings print ``lifecycle.replay.TraceMismatch``).
for _public in (ReplayError, TraceMismatch, ReplayImproved, MalformedTrace, ReplayResult, ReplayTestMixin, record):
    _public.__module__ = "lifecycle.replay"
