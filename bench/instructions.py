"""Instructions per request under callgrind: a noise-free companion to ``overhead.py``.

    .venv-bench/bin/python bench/instructions.py                          # bare, lifecycle, lifecycle-nostack
    .venv-bench/bin/python bench/instructions.py --modes bare,lifecycle,lifecycle@HEAD~3   # before/after
    .venv-bench/bin/python bench/instructions.py --modes bare,lifecycle,otel,kolo -n 20

Wall-clock ratios on a shared 2-vCPU machine move by several percent between two identical processes
(``bare2`` in overhead.py), more than one optimization gains. valgrind's callgrind counts the machine
instructions a process executes: the same count for the same code and input, whatever else runs. It is
not time (a cache miss or an allocation costs more than its instructions), so overhead.py stays the
headline; this script is how each change is measured.

How: for every mode and view, two runs of one child process under ``valgrind --tool=callgrind`` (the
same site and driver as overhead.py: Django's WSGI handler called directly, a copy of one seeded SQLite
file): both warm up with ``--warm`` requests per view, then make ``N0`` (the first run) or ``N0 + n``
(the second) requests of the view. The difference of the two totals, divided by ``n``, is the cost of one
warm request: start-up, imports and warm-up cancel out. ``PYTHONHASHSEED=0`` keeps dict and set orders
the same in both runs. Runs go ``--jobs`` at a time (each is single-threaded; they do not disturb each
other's counts). Needs ``valgrind`` on the PATH (Debian: ``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.overhead import QUERIES_HEAVY, QUERIES_LIGHT, VIEWS, available, extract_rev, setup_db  # noqa: E402

DEFAULT_MODES = ("bare", "lifecycle", "lifecycle-nostack")


def child_main(mode: str, view: str, warm: int, n: int) -> None:
    from bench.overhead import Child

    child = Child(mode)
    for v in VIEWS:
        child.run(v, warm)
    if n:
        child.run(view, n)
    result = child.tool.verify(view, child.request(view)) if mode.split("@")[0] != "bare" else {}
    print(f"verified {result}", file=sys.stderr)


def count(mode: str, view: str, warm: int, n: int, seeded: Path, tmp: Path) -> int:
    """Instructions executed by one child process (callgrind's total)."""
    work = Path(tempfile.mkdtemp(prefix=f"{mode.replace('/', '_')}-{view}-{n}-", dir=tmp))
    shutil.copy(seeded, work / "db.sqlite3")
    env = {**os.environ, "BENCH_DB": str(work / "db.sqlite3"), "BENCH_TMP": str(work), "PYTHONHASHSEED": "0"}
    if "@" in mode:
        env["BENCH_LIFECYCLE_SRC"] = str(extract_rev(mode.split("@", 1)[1], work))
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={work / 'callgrind.out'}",
           sys.executable, __file__, "--child", mode, view, str(warm), str(n)]
    proc = subprocess.run(cmd, env=env, cwd=str(ROOT), capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or not found:
        raise RuntimeError(f"{mode} {view} n={n}: exit {proc.returncode}\n{proc.stderr[-3000:]}")
    shutil.rmtree(work, ignore_errors=True)
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default=",".join(DEFAULT_MODES))
    parser.add_argument("--views", default=",".join(VIEWS))
    parser.add_argument("-n", type=int, default=20, help="requests counted per mode and view")
    parser.add_argument("--n0", type=int, default=10, help="requests of the shorter run (after the warm-up)")
    parser.add_argument("--warm", type=int, default=60,
                        help="warm-up requests per view, both runs (60 + 60 fill the 100-trace store)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, view, warm, n = args.child
        child_main(mode, view, int(warm), int(n))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not on the PATH (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if "bare" not in modes:
        modes.insert(0, "bare")
    views = [v.strip() for v in args.views.split(",") if v.strip()]
    skipped = {m: reason for m in modes if (reason := available(m))}
    modes = [m for m in modes if m not in skipped]
    print(f"# bench/instructions.py  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}", flush=True)
    print(f"# warm={args.warm}/view, runs of {args.n0} and {args.n0 + args.n} requests, jobs={args.jobs}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="lifecycle-instr-"))
    seeded = tmp / "seed.sqlite3"
    setup_db(seeded)

    jobs = [(m, v, n) for m in modes for v in views for n in (args.n0, args.n0 + args.n)]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {job: pool.submit(count, *job[:2], args.warm, job[2], seeded, tmp) for job in jobs}
        totals = {job: f.result() for job, f in futures.items()}
    shutil.rmtree(tmp, ignore_errors=True)
    per = {m: {v: (totals[(m, v, args.n0 + args.n)] - totals[(m, v, args.n0)]) / args.n for v in views}
           for m in modes}

    print()
    print("Instructions per warm request (callgrind), ratio to bare; per query = (heavy overhead - light "
          f"overhead) / {QUERIES_HEAVY - QUERIES_LIGHT}.")
    print()
    both = set(views) == set(VIEWS)  # heavy and light: the per-query column can be computed
    header = " | ".join(f"{v} instr | {v} / bare" for v in views)
    print(f"| mode | {header} |" + (" instr/query |" if both else ""))
    print("|---|" + "---|---|" * len(views) + ("---|" if both else ""))
    for m in modes:
        cells = " | ".join(f"{per[m][v] / 1e6:.3f} M | {per[m][v] / per['bare'][v]:.3f}" for v in views)
        extra = ""
        if both:
            pq = ((per[m]["heavy"] - per["bare"]["heavy"]) - (per[m]["light"] - per["bare"]["light"]))
            extra = f" {pq / (QUERIES_HEAVY - QUERIES_LIGHT) / 1e3:+.1f} k |" if m != "bare" else " – |"
        print(f"| {m} | {cells} |{extra}")
    for m, reason in skipped.items():
        print(f"| {m} | not run: {reason} |")
    print()
    first = views[0]
    print(" ".join(f"{m}/bare={per[m][first] / per['bare'][first]:.3f}" for m in modes if m != "bare")
          + f" ({first}, instructions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
