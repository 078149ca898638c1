"""Django's own test suite, once plainly and once with lifecycle recording every test: nothing may break.

    python django_suite/run.py                 # the modules below, with the Django of this interpreter
    python django_suite/run.py cache backends  # some modules only

The suite comes from the Django sdist of the installed version (it ships ``tests/runtests.py``), fetched
once from the package index into ``.cache/django-suite/``. Both runs use the same runner
(``lifecycle_suite.py``), the same modules and the same ``--parallel``; the second installs lifecycle's
instruments and opens a trace around every test. Every test that passes plainly must pass with lifecycle,
except the few listed in ``EXCLUDED`` below, each with its reason. Exit status 1 lists the others.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# What lifecycle patches, and Django's tests of it:
MODULES = (
    # templates: Template.render, ForNode, ExtendsNode, includes, loaders and the backends
    "template_tests", "template_backends", "template_loader",
    # the cache instrument: every backend's sync and async API
    "cache",
    # the SQL instrument (execute wrappers on every connection), transactions and savepoints
    "backends", "transactions",
    # the handler instrument: middleware chain, resolution, the view, exceptions, sync and async
    "handlers", "middleware", "middleware_exceptions", "asgi", "async", "urlpatterns", "urlpatterns_reverse",
    # views, the test client, responses and streaming, signals, WSGI file wrappers
    "view_tests", "test_client", "test_client_regress", "responses", "requests_tests", "signals", "wsgi",
    "builtin_server", "shortcuts", "generic_views",
)

# test id (or a prefix ending with ".") -> why it may differ with lifecycle installed.
EXCLUDED: dict[str, str] = {}


def django_version(python: str) -> str:
    return subprocess.run([python, "-c", "import django; print(django.get_version())"], check=True,
                          capture_output=True, text=True).stdout.strip()


def sdist(python: str, version: str, cache: Path) -> Path:
    """The unpacked Django sdist of ``version`` (its ``tests/`` directory holds runtests.py)."""
    root = cache / f"django-{version}"
    if (root / "tests" / "runtests.py").exists():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / f"django-{version}.tar.gz"
    if not archive.exists():
        subprocess.run([python, "-m", "pip", "download", "-q", f"django=={version}", "--no-deps",
                        "--no-binary", ":all:", "-d", str(cache)], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(cache, filter="data")
    return root


def run(python: str, root: Path, modules: list[str], mode: str, parallel: int, log: Path) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        outcomes = Path(tmp) / "outcomes.json"
        env = {**os.environ, "LIFECYCLE_SUITE": mode, "LIFECYCLE_SUITE_OUTCOMES": str(outcomes),
               "PYTHONPATH": os.pathsep.join((str(root), str(HERE), str(REPO)))}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        cmd = [python, "runtests.py", "--settings=settings", f"--parallel={parallel}", "--noinput", *modules]
        started = time.monotonic()
        with log.open("w") as out:
            subprocess.run(cmd, cwd=root / "tests", env=env, stdout=out, stderr=subprocess.STDOUT)
        seconds = time.monotonic() - started
        if not outcomes.exists():
            sys.exit(f"the {mode} run wrote no outcomes; see {log}")
        result = json.loads(outcomes.read_text())
        failures: dict[str, int] = {}
        for path in Path(tmp).glob("outcomes.json.*.failures"):
            for kind, count in json.loads(path.read_text()).items():
                failures[kind] = failures.get(kind, 0) + count
    print(f"  {mode:>3}: {len(result)} tests, {sum(v == 'pass' for v in result.values())} passed, "
          f"{sum(v in ('fail', 'error') for v in result.values())} failed, {seconds:.0f} s (log: {log})")
    if failures:
        print(f"       recorder failures (logged, requests unharmed): {failures}")
    return result


def excluded(test_id: str) -> str | None:
    for key, reason in EXCLUDED.items():
        if test_id == key or (key.endswith(".") and test_id.startswith(key)):
            return reason
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", default=list(MODULES))
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--parallel", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--cache", type=Path, default=REPO / ".cache" / "django-suite")
    args = parser.parse_args()
    version = django_version(args.python)
    root = sdist(args.python, version, args.cache)
    print(f"Django {version}'s own tests ({len(args.modules)} modules), plainly and with lifecycle:")
    logs = args.cache / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    plain = run(args.python, root, args.modules, "off", args.parallel, logs / f"{version}-plain.log")
    traced = run(args.python, root, args.modules, "on", args.parallel, logs / f"{version}-lifecycle.log")
    broken, allowed = [], []
    for test_id, outcome in sorted(plain.items()):
        if outcome != "pass" or traced.get(test_id) == "pass":
            continue
        reason = excluded(test_id)
        (allowed if reason else broken).append((test_id, traced.get(test_id, "not run"), reason))
    for test_id, outcome, reason in allowed:
        print(f"  excluded: {test_id}: {outcome} ({reason})")
    if broken:
        print(f"FAILED: {len(broken)} tests pass without lifecycle and not with it:")
        for test_id, outcome, _ in broken:
            print(f"  {test_id}: {outcome}")
        return 1
    print(f"OK: every test that passes without lifecycle passes with it ({len(plain)} tests).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
