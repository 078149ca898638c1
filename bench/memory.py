"""No memory growth across 10,000 recorded requests beyond the configured recent-trace store.

    .venv-bench/bin/python bench/memory.py                  # lifecycle, 10,000 requests (heavy and light)
    .venv-bench/bin/python bench/memory.py --mode bare      # the same for bare Django, for reference
    .venv-bench/bin/python bench/memory.py --tracemalloc    # slower; names the lines that grew

One process, the bench site (bench/settings.py, DEBUG on, SQLite file), requests through the WSGI
handler, heavy and light views alternating. The first ``--warm`` requests fill every bounded buffer (the
recent-trace store keeps ``RECENT_TRACES`` = 100 traces by default, the publisher's queue is bounded);
after that, every ``--every`` requests: ``gc.collect()``, then Python's allocated blocks
(``sys.getallocatedblocks()``), the number of objects the GC tracks, the RSS and the store's size.
Growth is measured from the end of the warm-up to the last checkpoint. The verdict allows 0.5% of the
blocks (allocator and interpreter caches settle) and 2 MB of RSS.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="lifecycle")
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--warm", type=int, default=1000)
    parser.add_argument("--every", type=int, default=1000)
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="lifecycle-memory-"))
    os.environ["BENCH_DB"] = str(tmp / "db.sqlite3")
    os.environ["BENCH_TMP"] = str(tmp)
    from bench.overhead import Child, setup_db

    setup_db(tmp / "db.sqlite3")
    child = Child(args.mode)
    recording = args.mode.startswith("lifecycle")
    if recording:
        from lifecycle import conf, store
        from lifecycle.publish import get_publisher

        limit = conf.get("RECENT_TRACES")

    def store_info() -> str:
        if not recording:
            return ""
        memory = store._default  # this process's traces in memory, in front of the trace store
        with memory._lock:
            entries = list(memory._ring.values())
        size = sum(len(data) for _, _, data in entries)
        stats = get_publisher().stats()
        writer = store.stats()
        return (f"  store {len(entries)}/{limit} traces, {size / 1024:.0f} KB JSON, writer queued "
                f"{writer['queued']} dropped {writer['dropped']}; publisher queued {stats['queued']}")

    if args.tracemalloc:
        tracemalloc.start(10)
    done = 0

    def run(n: int) -> None:
        nonlocal done
        for _ in range(n // 2):
            child.request("heavy")
            child.request("light")
        done += n

    run(args.warm)
    gc.collect()
    base = (sys.getallocatedblocks(), len(gc.get_objects()), rss_kb())
    snap0 = tracemalloc.take_snapshot() if args.tracemalloc else None
    print(f"{args.mode}: after {done} warm-up requests: blocks {base[0]}, gc objects {base[1]}, "
          f"RSS {base[2] / 1024:.1f} MB{store_info()}", flush=True)
    while done < args.n:
        run(min(args.every, args.n - done))
        gc.collect()
        blocks, objects, rss = sys.getallocatedblocks(), len(gc.get_objects()), rss_kb()
        print(f"  {done:6d} requests: blocks {blocks - base[0]:+7d}, gc objects {objects - base[1]:+6d}, "
              f"RSS {(rss - base[2]) / 1024:+.2f} MB{store_info()}", flush=True)
    if snap0 is not None:
        snap1 = tracemalloc.take_snapshot()
        print("largest growth by line (tracemalloc):")
        for stat in snap1.compare_to(snap0, "lineno")[:10]:
            print(f"  {stat}")
    if recording:
        # The recorder really recorded all along.
        rows = store.recent()
        assert len(rows) == min(limit, done), (len(rows), limit)
        assert rows[0]["queries"] in (1, 21), rows[0]
    grow_blocks = blocks - base[0]
    grow_rss = (rss - base[2]) / 1024
    ok = grow_blocks <= 0.005 * base[0] and grow_rss <= 2.0
    print(f"{args.mode}: {done - args.warm} requests after warm-up: {grow_blocks:+d} blocks "
          f"({100 * grow_blocks / base[0]:+.2f}%), {objects - base[1]:+d} gc objects, RSS {grow_rss:+.2f} MB: "
          f"{'no growth beyond the bounded store' if ok else 'GROWTH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
