"""What the pytest plugin knows before anything else of lifecycle is imported (no imports here: the
plugin is loaded in every pytest run, Django project or not).

``lifecycle.replay.options`` reads :data:`cli_mode` and :data:`base_dir` when it is imported; the plugin
also sets them on it directly when it was imported first.
"""

cli_mode = None  # --lifecycle-record
base_dir = None  # the rootdir that relative trace paths start from (a pathlib.Path)
# Trace files written by the xdist workers (lines of the "lifecycle trace files written" summary).
written_by_workers = []
# "lifecycle N+1 guard" summary: (nodeid, text) per test, from this process's or the workers' reports.
guard_warnings = []
