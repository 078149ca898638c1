"""Cost of our SQL wrapper when no trace is active: target < 1 µs per query more than bare.

    .venv-bench/bin/python bench/idle_query.py

One process, the bench site in ``lifecycle`` mode (so every instrument is installed) on an in-memory
SQLite database, DEBUG off (Django's queries log would add its own cost to both sides). Three cases,
timed in interleaved blocks of ``cursor.execute("SELECT 1")``:

- ``bare``: Django's own ``CursorWrapper._execute_with_wrappers``, no instrument;
- ``idle``: our instrument (``lifecycle.instruments.sql``) installed, outside any request (what a management
  command, a Celery task or an ignored path such as /favicon.ico pays): one ContextVar read, then the query;
- ``ignored``: the same, inside a real request to an ignored path through the WSGI handler, with the
  query made by the view (``LIFECYCLE["IGNORE_PATHS"]``): per-query difference with and without the
  wrapper on that connection.

Reports the median per-query cost of each and the differences. The last line is the verdict.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path
from time import perf_counter_ns

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BLOCK = 2000
ROUNDS = 100
QUERIES_PER_REQUEST = 200


def main() -> int:
    os.environ["BENCH_MODE"] = "lifecycle"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["BENCH_DB"] = ":memory:"
    import django
    from django.conf import settings

    settings.DEBUG = False
    settings.LIFECYCLE = {"ENABLED": True, "IGNORE_PATHS": ("/ignored/",)}  # on with DEBUG off
    django.setup()
    from django.db import connection
    from django.db.backends.utils import CursorWrapper
    from django.http import HttpResponse
    from django.urls import clear_url_caches, path

    from lifecycle.instruments import sql
    from lifecycle.recorder import current

    ours = CursorWrapper.__dict__["_execute_with_wrappers"]
    original = sql._originals.get((CursorWrapper, "_execute_with_wrappers"))
    if original is None or ours is original:
        print("FAILED: our SQL instrument is not installed", file=sys.stderr)
        return 1
    connection.ensure_connection()
    assert current() is None

    def with_wrapper(on: bool) -> None:
        CursorWrapper._execute_with_wrappers = ours if on else original

    cursor = connection.cursor()

    def block() -> float:
        execute = cursor.execute
        t0 = perf_counter_ns()
        for _ in range(BLOCK):
            execute("SELECT 1")
        return (perf_counter_ns() - t0) / BLOCK / 1000

    results: dict[str, list[float]] = {"bare": [], "idle": []}
    for r in range(ROUNDS):
        for case in (("bare", "idle") if r % 2 else ("idle", "bare")):
            with_wrapper(case == "idle")
            results[case].append(block())

    # An ignored path: the request goes through the middleware, which records nothing.
    def ignored_view(request):
        c = connection.cursor()
        for _ in range(QUERIES_PER_REQUEST):
            c.execute("SELECT 1")
        return HttpResponse(b"ok")

    import bench.urls

    bench.urls.urlpatterns.append(path("ignored/", ignored_view))
    clear_url_caches()
    from django.core.handlers.wsgi import WSGIHandler

    from bench.overhead import make_environ

    handler = WSGIHandler()
    from lifecycle import store

    before = store.size()

    def request() -> float:
        status = []
        t0 = perf_counter_ns()
        response = handler(make_environ("/ignored/"), lambda s, h, e=None: status.append(s))
        b"".join(response)
        response.close()
        assert status[0].startswith("200"), status
        return (perf_counter_ns() - t0) / 1000

    req: dict[str, list[float]] = {"bare": [], "idle": []}
    connection.ensure_connection()
    for r in range(ROUNDS * 4):
        for case in (("bare", "idle") if r % 2 else ("idle", "bare")):
            for _ in range(5):
                with_wrapper(case == "idle")
                req[case].append(request())
    with_wrapper(True)
    recorded = store.size() - before
    if recorded:
        print(f"FAILED: {recorded} traces recorded for an ignored path", file=sys.stderr)
        return 1

    med = {k: statistics.median(v) for k, v in results.items()}
    low = {k: min(v) for k, v in results.items()}
    # Paired: each round timed both cases back to back; the median of those differences resists drift.
    diff = statistics.median(i - b for i, b in zip(results["idle"], results["bare"], strict=True))
    print(f"cursor.execute('SELECT 1'), outside a request, {ROUNDS} rounds of one block of {BLOCK} per case:")
    print(f"  bare (no execute wrapper)  median {med['bare']:.3f} µs, best {low['bare']:.3f} µs")
    print(f"  idle (our wrapper)         median {med['idle']:.3f} µs, best {low['idle']:.3f} µs")
    print(f"  difference: median of paired rounds {diff:+.3f} µs, best vs best {low['idle'] - low['bare']:+.3f} µs")
    rmed = {k: statistics.median(v) for k, v in req.items()}
    rdiff = (rmed["idle"] - rmed["bare"]) / QUERIES_PER_REQUEST
    print(f"request to an ignored path with {QUERIES_PER_REQUEST} queries (WSGI handler), median of "
          f"{len(req['bare'])} requests each:")
    print(f"  without wrapper {rmed['bare']:.0f} µs, with {rmed['idle']:.0f} µs: {rdiff:+.3f} µs per query; "
          f"traces recorded: {recorded}")
    ok = diff < 1.0
    print(f"idle query overhead {diff:+.3f} µs (target < 1 µs): {'OK' if ok else 'OVER TARGET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
