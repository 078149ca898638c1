"""pytest plugin (entry point ``lifecycle``): replay recorded traces as tests (see ``lifecycle.replay``).

- ``lifecycle_replay(path, **options)``: a fixture returning the replay function, bound to pytest-django's
  ``client`` and with database access (``db``). Relative paths start at the rootdir.
- ``--lifecycle-record=MODE``: ``once`` (write missing trace files), ``none`` (fail on them; ``CI=true``
  implies it) or ``all`` (rewrite every trace file after an intended change).
- ``--lifecycle-n-plus-one=fail|warn|off`` (or ``LIFECYCLE["N_PLUS_ONE_GUARD"]``; the option wins): the
  suite-wide N+1 guard (``lifecycle.replay.guard``); ``@pytest.mark.lifecycle_allow_n_plus_one("why")`` exempts
  a test.
- The terminal summary lists the trace files this run wrote and, with ``warn``, the N+1 groups found;
  under pytest-xdist the workers ship them to the controller.

Nothing here imports Django or another lifecycle module until a lifecycle option, fixture or marker is
used: the plugin is loaded in every pytest run of an environment where the package is installed, Django
project or not (``tests/replay/test_guard.py``: test_plugin_loads_nothing).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

from lifecycle.replay import _pytest_state as state

# Before anything imports them, so that their assertions get pytest's rewriting.
# (The modules, not the package: importing this plugin imported the package already.)
pytest.register_assert_rewrite(
    "lifecycle.replay.api", "lifecycle.replay.options", "lifecycle.replay.client", "lifecycle.replay.compare"
)

MODES = ("once", "none", "all", "overwrite")
GUARD_MODES = ("fail", "warn", "off")
MARKER = "lifecycle_allow_n_plus_one"
_WARNING = "lifecycle_n_plus_one"  # the user property a warn report carries to the controller
_WRITTEN = "lifecycle_written"  # the workeroutput key of a worker's written trace files
_guard_key = pytest.StashKey[Any]()
_groups_key = pytest.StashKey[list]()
_mode_key = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lifecycle", "django-request-lifecycle trace replay")
    group.addoption(
        "--lifecycle-record",
        action="store",
        dest="lifecycle_record",
        default=None,
        choices=MODES,
        metavar="MODE",
        help="record mode for trace replays: once (write missing trace files; the default), none (fail "
        "when one is missing; CI=true implies it), all (rewrite every trace file).",
    )
    group.addoption(
        "--lifecycle-n-plus-one",
        action="store",
        dest="lifecycle_n_plus_one",
        default=None,
        choices=GUARD_MODES,
        metavar="MODE",
        help="suite-wide N+1 guard: fail (a test whose requests run an N+1 fails), warn (listed in the "
        "terminal summary), off (the default; or LIFECYCLE['N_PLUS_ONE_GUARD']).",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(reason=None): the lifecycle N+1 guard does not judge this test's requests"
    )
    state.cli_mode = config.getoption("lifecycle_record", None)
    state.base_dir = config.rootpath
    state.running = True
    state.written_by_workers.clear()
    state.guard_warnings.clear()
    _sync_replay_options(clear=True)


def _sync_replay_options(*, clear: bool = False) -> None:
    """``lifecycle.replay.options`` reads the state when it is imported; when it was imported before
    pytest_configure (by a conftest), it is told here."""
    options: Any = sys.modules.get("lifecycle.replay.options")
    if options is not None:
        options.cli_mode = state.cli_mode
        options.base_dir = state.base_dir
        if clear:
            options.written.clear()


# -- the N+1 guard -------------------------------------------------------------------------------------


def _guard_mode(config: pytest.Config) -> str:
    """The option, else ``LIFECYCLE["N_PLUS_ONE_GUARD"]`` (read once, at the first test, and only when
    Django's settings are configured already: a run that never loads Django has no setting)."""
    mode = config.stash.get(_mode_key, None)
    if mode is not None:
        return mode
    mode = config.getoption("lifecycle_n_plus_one", None)
    if mode is None:
        mode = "off"
        if "django.conf" in sys.modules:
            from django.conf import settings

            value = (getattr(settings, "LIFECYCLE", None) or {}) if settings.configured else {}
            value = value.get("N_PLUS_ONE_GUARD") if isinstance(value, dict) else None
            if value not in (None, False, *GUARD_MODES):
                pytest.exit(
                    f"LIFECYCLE['N_PLUS_ONE_GUARD']: expected one of {', '.join(GUARD_MODES)} or None, got {value!r}",
                    returncode=pytest.ExitCode.USAGE_ERROR,
                )
            mode = value or "off"
    if mode != "off":
        from django.apps import apps

        if not apps.ready:
            return "off"  # Django not set up yet (or not at all): ask again at the next test
    config.stash[_mode_key] = mode
    return mode


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _sync_replay_options()  # replay_options imported since pytest_configure (by a test module)
    if _guard_mode(item.config) != "off" and item.get_closest_marker(MARKER) is None:
        from lifecycle.replay.guard import Guard

        # Opened before the fixtures are set up: the requests they make (logging in) are the test's too.
        item.stash[_guard_key] = Guard(item.nodeid)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    try:
        return (yield)
    finally:
        guard = item.stash.get(_guard_key, None)
        if guard is not None:
            del item.stash[_guard_key]
            try:
                item.stash[_groups_key] = guard.close()
            except Exception as exc:  # the guard never fails a test by a failure of its own
                from lifecycle.safety import report

                report("judging a test's requests (N+1 guard)", exc)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.when != "call" or not report.passed:
        return report  # a test that fails (or skips) on its own keeps its outcome
    groups = item.stash.get(_groups_key, None)
    if groups is not None:
        del item.stash[_groups_key]
    if not groups:
        return report
    from lifecycle.replay.guard import message

    mode = _guard_mode(item.config)
    text = message(item.nodeid, groups, mode)
    if mode == "fail":
        try:
            pytest.fail(text, pytrace=False)
        except pytest.fail.Exception:
            report.longrepr = item.repr_failure(pytest.ExceptionInfo.from_current())
        report.outcome = "failed"
    else:
        report.user_properties.append((_WARNING, text))
    return report


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    guard = item.stash.get(_guard_key, None)  # setup failed: the call never ran
    if guard is not None:
        del item.stash[_guard_key]
        try:
            guard.close()
        except Exception as exc:
            from lifecycle.safety import report

            report("closing the N+1 guard", exc)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Here (the controller, under xdist) whichever process ran the test.
    value: Any  # the text, under our _WARNING name
    for name, value in report.user_properties:
        if name == _WARNING:
            state.guard_warnings.append((report.nodeid, value))


# -- the terminal summary, and pytest-xdist ------------------------------------------------------------


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)  # an xdist worker
    options = sys.modules.get("lifecycle.replay.options")
    if workeroutput is not None and options is not None:
        workeroutput[_WRITTEN] = list(options.written)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    state.written_by_workers.extend(getattr(node, "workeroutput", {}).get(_WRITTEN, ()))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    options = sys.modules.get("lifecycle.replay.options")
    written = [*(options.written if options is not None else ()), *state.written_by_workers]
    if written:
        terminalreporter.section("lifecycle trace files written")
        for line in sorted(written):  # by file: the same whatever order the tests ran in
            terminalreporter.write_line(line)
    if state.guard_warnings:
        terminalreporter.section("lifecycle N+1 guard")
        for _nodeid, text in sorted(state.guard_warnings):
            terminalreporter.write_line(text)


@pytest.fixture
def lifecycle_replay(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """Replay a recorded trace through the test client and compare: ``lifecycle_replay(path, **options)``.

    Fails with ``lifecycle.replay.TraceMismatch`` when a check fails; returns a ``ReplayResult``
    (``.trace``, ``.response``, ``.comparison``, ``.written``).
    Options: see ``lifecycle.replay.replay_trace``.
    """
    try:
        request.getfixturevalue("db")
        client = request.getfixturevalue("client")
    except pytest.FixtureLookupError:
        raise pytest.UsageError("lifecycle_replay needs pytest-django (its db and client fixtures)") from None
    from lifecycle.replay import replay_trace

    def replay(path: Any, **options: Any) -> Any:
        __tracebackhide__ = True
        options.setdefault("client", client)
        return replay_trace(path, **options)

    return replay
