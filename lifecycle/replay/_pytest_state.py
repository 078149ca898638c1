"""What the pytest plugin knows before anything else of lifecycle is imported (no imports of ours or
Django's here: the plugin is loaded in every pytest run, Django project or not).

``lifecycle.replay.options`` reads :data:`cli_mode` and :data:`base_dir` when it is imported; the plugin
also sets them on it directly when it was imported first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

cli_mode: str | None = None  # --lifecycle-record
base_dir: Path | None = None  # the rootdir that relative trace paths start from
# Trace files written by the xdist workers (lines of the "lifecycle trace files written" summary).
written_by_workers: list[str] = []
# "lifecycle N+1 guard" summary: (nodeid, text) per test, from this process's or the workers' reports.
guard_warnings: list[tuple[str, str]] = []
# True while pytest runs with the plugin: the default trace store is then memory (lifecycle.stores.selected), so
# that a test run neither writes into the project's store (the dashboard of runserver) nor shares traces
# between its processes.
running = False
