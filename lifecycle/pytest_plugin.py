"""pytest plugin (entry point ``lifecycle``): replay recorded traces as tests (see ``lifecycle.replay``).

- ``lifecycle_replay(path, **options)``: a fixture returning the replay function, bound to pytest-django's
  ``client`` and with database access (``db``). Relative paths start at the rootdir.
- ``--lifecycle-record=MODE``: ``once`` (write missing trace files), ``none`` (fail on them; ``CI=true``
  implies it) or ``all`` (rewrite every trace file after an intended change).
- The terminal summary lists the trace files this run wrote.

Nothing here imports Django at load time: the plugin is loaded in every pytest run of an environment
where the package is installed, Django project or not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

# Before anything imports them, so that their assertions get pytest's rewriting.
pytest.register_assert_rewrite(
    "lifecycle.replay", "lifecycle.replay_options", "lifecycle.replay_client", "lifecycle.compare"
)

MODES = ("once", "none", "all", "overwrite")


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


def pytest_configure(config: pytest.Config) -> None:
    from lifecycle import replay_options

    replay_options.cli_mode = config.getoption("lifecycle_record", None)
    replay_options.base_dir = config.rootpath
    replay_options.written.clear()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    import sys

    options = sys.modules.get("lifecycle.replay_options")
    if options is None or not options.written:
        return
    terminalreporter.section("lifecycle trace files written")
    for line in sorted(options.written):  # by file: the same whatever order the tests ran in
        terminalreporter.write_line(line)


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
