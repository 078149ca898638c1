"""Profile one mode in-process: ``N`` requests of one view through the WSGI handler.

    # sampling (what RESULTS.md reports): py-spy's raw collapsed stacks, then our share of them
    .venv-bench/bin/py-spy record -r 2000 -f raw -o /tmp/lifecycle.txt -- \\
        .venv-bench/bin/python bench/profiling.py --mode lifecycle --view heavy -n 3000
    .venv-bench/bin/python bench/profiling.py --summarize /tmp/lifecycle.txt

    # deterministic, quick look (cProfile inflates small calls)
    .venv-bench/bin/python bench/profiling.py --mode lifecycle --view light -n 2000 --cprofile
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


PASS_THROUGH = ("inner(", "wrapped(", "execute(sql", "original(self, sql",
                "original_render(", "original_extends(", "original_resolve(",
                "original_make_atomic(", "original_get_parent(", "original_for(", "self.get_response(",
                "original_convert(", "method(*args", "next(iterator)", "__anext__()")


def _source_line(path: str, line: int, cache: dict) -> str:
    if path not in cache:
        try:
            cache[path] = (ROOT / path).read_text().splitlines()
        except OSError:
            cache[path] = []
    lines = cache[path]
    return lines[line - 1] if 0 < line <= len(lines) else ""


def summarize(path: str, top: int = 25) -> None:
    """The recorder's own share of the samples taken inside requests.

    A sample is the recorder's when its innermost ``lifecycle/`` frame is not merely calling through to
    the code it wraps (the line of that frame is not ``return inner(request)``, ``execute(sql, ...)``,
    ...). Everything under a pass-through line is the site's own work.
    """
    total = in_request = ours = 0
    by_function: collections.Counter[str] = collections.Counter()
    by_leaf: collections.Counter[str] = collections.Counter()
    sources: dict = {}
    with open(path) as f:
        lines = f.readlines()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        n = int(count)
        total += n
        frames = stack.split(";")
        if not any(f.startswith("WSGIHandler.__call__") for f in frames):
            continue
        in_request += n
        for i in range(len(frames) - 1, -1, -1):
            frame = frames[i]
            if "(lifecycle/" not in frame:
                continue
            where = frame.rsplit("(", 1)[1].rstrip(")")
            file, _, lineno = where.rpartition(":")
            text = _source_line(file, int(lineno), sources)
            if any(p in text for p in PASS_THROUGH):
                break
            ours += n
            by_function[frame.split(" (")[0] + " (" + file + ")"] += n
            by_leaf[frames[-1].split(" (")[0]] += n
            break
    print(f"{total} samples, {in_request} inside requests, recorder's own: {ours} "
          f"({100 * ours / max(1, in_request):.1f}% of in-request samples)")
    print("by innermost recorder function (inclusive of what it calls that is not the wrapped code):")
    for name, n in by_function.most_common(top):
        print(f"  {100 * n / max(1, in_request):5.2f}%  {name}")
    print("leaf functions of those samples:")
    for name, n in by_leaf.most_common(15):
        print(f"  {100 * n / max(1, in_request):5.2f}%  {name}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="lifecycle")
    parser.add_argument("--view", default="heavy")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--summarize")
    args = parser.parse_args()
    if args.summarize:
        summarize(args.summarize)
        return
    tmp = Path(tempfile.mkdtemp(prefix="lifecycle-profile-"))
    os.environ["BENCH_DB"] = str(tmp / "db.sqlite3")
    os.environ["BENCH_TMP"] = str(tmp)
    from bench.overhead import Child, setup_db

    setup_db(tmp / "db.sqlite3")
    child = Child(args.mode)
    child.run(args.view, 100)
    if args.cprofile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        child.run(args.view, args.n)
        prof.disable()
        stats = pstats.Stats(prof)
        stats.sort_stats("cumulative").print_stats(r"lifecycle/", 40)
        stats.sort_stats("tottime").print_stats(30)
    else:
        child.run(args.view, args.n)
    print(child.verify(), file=sys.stderr)


if __name__ == "__main__":
    main()
