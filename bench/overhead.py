"""Overhead of django-request-lifecycle next to bare Django and its peers, per request, same machine, same run.

    .venv-bench/bin/python bench/overhead.py                    # every mode, 4 rounds x 300 requests/view
    .venv-bench/bin/python bench/overhead.py --modes bare,lifecycle,otel --rounds 2 --requests 100
    .venv-bench/bin/python bench/overhead.py --modes bare,bare2,lifecycle,lifecycle@HEAD~1   # before/after

How it works (see bench/README.md):
- One child process per mode (``bench/settings.py`` with ``BENCH_MODE``), each with its own copy of one
  seeded SQLite file. A child builds Django's ``WSGIHandler`` and calls it directly with a WSGI environ
  (no test client, no server), reads the body and closes the response, timing each request.
- Modes take turns: for every batch (default 20 requests) each mode runs its batch of the heavy view and
  of the light view, in a rotating order, so machine drift hits all modes alike. ``bare2`` is a second
  bare process: its ratio is the noise floor.
- After each round, every child verifies (untimed) that its tool really recorded the last request, and
  the run stops loudly if not.
- Medians of all requests per mode and view; ratio = median / bare median; per-query overhead =
  (heavy overhead - light overhead) / 20 (the heavy page has 20 queries more).
- Memory: per mode, under tracemalloc, a warm-up (fills every bounded store) then N heavy requests:
  peak above the steady state while they run, and what stays allocated after them (gc'd).
The last line is the summary of heavy-view ratios.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VIEWS = ("heavy", "light")
ALL_MODES = ("bare", "bare2", "lifecycle", "lifecycle-live", "otel", "kolo", "ddt", "silk")
QUERIES_HEAVY, QUERIES_LIGHT = 21, 1


# -- child -------------------------------------------------------------------------------------------------


def make_environ(path: str) -> dict:
    return {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "testserver", "HTTP_ACCEPT": "text/html,*/*",
        "HTTP_USER_AGENT": "bench/overhead", "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr, "wsgi.multithread": False,
        "wsgi.multiprocess": True, "wsgi.run_once": False,
    }


class Child:
    def __init__(self, mode: str) -> None:
        base = mode.split("@")[0]
        if "@" in mode:
            # lifecycle@REV: the lifecycle package as of git revision REV (extracted by the parent).
            sys.path.insert(0, os.environ["BENCH_LIFECYCLE_SRC"])
        os.environ["BENCH_MODE"] = base
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
        from bench.tools import TOOLS

        self.tool = TOOLS[base]()
        self.tool.before_setup()
        import django

        django.setup()
        self.tool.before_handler()
        from django.core.handlers.wsgi import WSGIHandler

        self.handler = WSGIHandler()
        self.status = ""
        self.last: dict[str, bytes] = {}

    def _start_response(self, status, headers, exc_info=None):
        self.status = status

    def request(self, view: str) -> bytes:
        response = self.handler(make_environ(f"/{view}/"), self._start_response)
        body = b"".join(response)
        response.close()
        if not self.status.startswith("200"):
            raise RuntimeError(f"/{view}/ answered {self.status}: {body[:500]!r}")
        return body

    def run(self, view: str, n: int) -> tuple[list[int], int]:
        """``n`` requests: wall time of each (ns), and the process CPU time of the batch (all threads, ns)."""
        handler, start_response, path = self.handler, self._start_response, f"/{view}/"
        from time import perf_counter_ns, process_time_ns

        times = []
        body = b""
        cpu0 = process_time_ns()
        for _ in range(n):
            environ = make_environ(path)
            t0 = perf_counter_ns()
            response = handler(environ, start_response)
            body = b"".join(response)
            response.close()
            times.append(perf_counter_ns() - t0)
        cpu = process_time_ns() - cpu0
        if not self.status.startswith("200"):
            raise RuntimeError(f"{path} answered {self.status}: {body[:500]!r}")
        self.last[view] = body
        self.tool.after_batch(view, n, body)
        return times, cpu

    def verify(self) -> dict:
        # One fresh, untimed request per view, then the tool must show that it recorded it.
        return {view: self.tool.verify(view, self.request(view)) for view in VIEWS}

    def memory(self, view: str, warm: int, n: int) -> dict:
        import resource

        gc.collect()
        rss0 = _rss()
        tracemalloc.start()
        for _ in range(warm):
            self.request(view)
        self.tool.trim()
        gc.collect()
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(n):
            self.request(view)
        peak = tracemalloc.get_traced_memory()[1]
        self.tool.trim()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return {"peak_kb": (peak - base) / 1024, "retained_kb": (after - base) / 1024,
                "rss_kb": _rss() - rss0, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def child_main(mode: str) -> None:
    # The protocol goes over the original stdout; anything the tools print goes to stderr.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def reply(obj) -> None:
        proto.write(json.dumps(obj) + "\n")

    try:
        child = Child(mode)
        for view in VIEWS:  # warm up: caches, lazy imports, first connections
            child.run(view, 50)
        reply({"ok": True, "verify": child.verify()})
    except Exception as exc:
        reply({"ok": False, "error": f"{type(exc).__name__}: {exc}", "tb": traceback.format_exc()})
        return
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd["op"] == "run":
                times, cpu = child.run(cmd["view"], cmd["n"])
                reply({"ok": True, "times": times, "cpu": cpu})
            elif cmd["op"] == "verify":
                reply({"ok": True, "verify": child.verify()})
            elif cmd["op"] == "memory":
                reply({"ok": True, "memory": child.memory(cmd["view"], cmd["warm"], cmd["n"])})
            elif cmd["op"] == "quit":
                child.tool.close()
                reply({"ok": True})
                return
        except Exception as exc:
            reply({"ok": False, "error": f"{type(exc).__name__}: {exc}", "tb": traceback.format_exc()})


# -- parent ------------------------------------------------------------------------------------------------


class Proc:
    def __init__(self, mode: str, db: Path, tmp: Path) -> None:
        self.mode = mode
        env = {**os.environ, "BENCH_DB": str(db), "BENCH_TMP": str(tmp), "PYTHONHASHSEED": "0"}
        if "@" in mode:
            env["BENCH_LIFECYCLE_SRC"] = str(extract_rev(mode.split("@", 1)[1], tmp))
        self.p = subprocess.Popen([sys.executable, __file__, "--child", mode], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, env=env, text=True, cwd=str(ROOT))

    def recv(self) -> dict:
        line = self.p.stdout.readline()
        if not line:
            return {"ok": False, "error": f"child exited with {self.p.wait()}"}
        return json.loads(line)

    def call(self, **cmd) -> dict:
        self.p.stdin.write(json.dumps(cmd) + "\n")
        self.p.stdin.flush()
        answer = self.recv()
        if not answer["ok"]:
            raise ModeFailed(self.mode, answer)
        return answer

    def quit(self) -> None:
        try:
            self.call(op="quit")
        except Exception:
            pass
        self.p.wait(10)


class ModeFailed(Exception):
    def __init__(self, mode: str, answer: dict) -> None:
        super().__init__(f"{mode}: {answer.get('error')}")
        self.mode = mode
        self.answer = answer


def setup_db(path: Path) -> None:
    env = {**os.environ, "BENCH_MODE": "migrate", "BENCH_DB": str(path), "DJANGO_SETTINGS_MODULE": "bench.settings"}
    code = ("import django; django.setup(); from django.core.management import call_command; "
            "call_command('migrate', run_syncdb=True, verbosity=0); from bench.benchapp.views import seed; seed()")
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=str(ROOT))


def extract_rev(rev: str, tmp: Path) -> Path:
    """``lifecycle/`` as of git revision ``rev``, extracted under ``tmp`` (for before/after in one run)."""
    dest = tmp / "src"
    dest.mkdir(exist_ok=True)
    archive = subprocess.run(["git", "archive", rev, "lifecycle"], cwd=str(ROOT), check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def available(mode: str) -> str | None:
    from bench.tools import PACKAGES

    package = PACKAGES.get(mode.split("@")[0])
    if package and importlib.util.find_spec(package.split(".")[0]) is None:
        return f"not installed ({package})"
    try:
        if package and importlib.util.find_spec(package) is None:
            return f"not installed ({package})"
    except ModuleNotFoundError:
        return f"not installed ({package})"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default=",".join(ALL_MODES))
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--requests", type=int, default=300, help="requests per view per mode per round")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--mem-warm", type=int, default=120)
    parser.add_argument("--mem-requests", type=int, default=200, help="0 skips the memory phase")
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument("--report-from", help="print the report of a run saved with --json, and exit")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child)
        return 0
    if args.report_from:
        saved = json.loads(Path(args.report_from).read_text())
        for key, value in saved["args"].items():
            if key not in ("report_from", "json"):
                setattr(args, key, value)
        report(dict.fromkeys(saved["times"]), saved["times"], saved["per_round"], saved["slots"], saved["cpu"],
               saved["memory"], saved["skipped"], saved["failed"], saved["verify"], args)
        return 0

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if "bare" not in modes:
        modes.insert(0, "bare")
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    print(f"# bench/overhead.py  {started}", flush=True)
    print(f"# {machine_notes()}", flush=True)
    print(f"# rounds={args.rounds} requests/view/mode/round={args.requests} batch={args.batch}", flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="lifecycle-bench-"))
    seeded = tmp / "seed.sqlite3"
    setup_db(seeded)
    procs: dict[str, Proc] = {}
    skipped: dict[str, str] = {}
    failed: dict[str, str] = {}
    verify_info: dict[str, dict] = {}
    for mode in modes:
        reason = available(mode)
        if reason:
            skipped[mode] = reason
            print(f"# {mode}: SKIPPED, {reason}", flush=True)
            continue
        mode_dir = tmp / mode.replace("/", "_")
        mode_dir.mkdir()
        db = mode_dir / "db.sqlite3"
        shutil.copy(seeded, db)
        proc = Proc(mode, db, mode_dir)
        answer = proc.recv()
        if not answer["ok"]:
            failed[mode] = answer["error"]
            print(f"# {mode}: FAILED to start: {answer['error']}\n{answer.get('tb', '')}", file=sys.stderr, flush=True)
            proc.p.wait(10)
            continue
        procs[mode] = proc
        verify_info[mode] = answer["verify"]
        print(f"# {mode}: ready, recorded {json.dumps(answer['verify'], default=str)[:300]}", flush=True)
    if "bare" not in procs:
        print("bare mode failed: nothing to compare with", file=sys.stderr)
        return 2

    times: dict[str, dict[str, list[int]]] = {m: {v: [] for v in VIEWS} for m in procs}
    per_round: dict[str, dict[str, list[float]]] = {m: {v: [] for v in VIEWS} for m in procs}
    # Per batch slot (all modes ran their batch of this slot one after the other): batch median, and
    # process CPU time per request; ratios of a mode to bare within one slot cancel the drift.
    slots: dict[str, dict[str, list[float]]] = {m: {v: [] for v in VIEWS} for m in procs}
    cpu: dict[str, dict[str, list[float]]] = {m: {v: [] for v in VIEWS} for m in procs}
    batches = max(1, args.requests // args.batch)
    try:
        for r in range(args.rounds):
            t_round = time.monotonic()
            order = list(procs)
            round_times = {m: {v: [] for v in VIEWS} for m in procs}
            for b in range(batches):
                k = (r * batches + b) % len(order)
                rotated = order[k:] + order[:k]
                for mode in rotated:
                    views = VIEWS if b % 2 == 0 else VIEWS[::-1]
                    for view in views:
                        answer = procs[mode].call(op="run", view=view, n=args.batch)
                        round_times[mode][view].extend(answer["times"])
                        slots[mode][view].append(statistics.median(answer["times"]))
                        cpu[mode][view].append(answer["cpu"] / args.batch)
            for mode, proc in procs.items():
                verify_info[mode] = proc.call(op="verify")["verify"]
                for view in VIEWS:
                    times[mode][view].extend(round_times[mode][view])
                    per_round[mode][view].append(statistics.median(round_times[mode][view]))
            line = "  ".join(f"{m}={per_round[m]['heavy'][-1] / per_round['bare']['heavy'][-1]:.3f}"
                             for m in procs if m != "bare")
            print(f"# round {r + 1}/{args.rounds} ({time.monotonic() - t_round:.0f}s) heavy/bare: {line}", flush=True)
        memory: dict[str, dict] = {}
        if args.mem_requests:
            for mode, proc in procs.items():
                memory[mode] = proc.call(op="memory", view="heavy", warm=args.mem_warm, n=args.mem_requests)["memory"]
    except ModeFailed as exc:
        print(f"\nFAILED: {exc}\n{exc.answer.get('tb', '')}", file=sys.stderr)
        for proc in procs.values():
            proc.quit()
        return 1
    for proc in procs.values():
        proc.quit()
    shutil.rmtree(tmp, ignore_errors=True)

    report(procs, times, per_round, slots, cpu, memory, skipped, failed, verify_info, args)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "args": vars(args), "times": times, "per_round": per_round, "slots": slots, "cpu": cpu,
            "memory": memory, "skipped": skipped, "failed": failed, "verify": verify_info}, default=str))
    return 1 if failed else 0


def report(procs, times, per_round, slots, cpu, memory, skipped, failed, verify_info, args) -> None:
    # The reference: bare, pooled with bare2 when it ran. Two baseline processes make the reference less
    # dependent on one process's luck (on a shared 2-vCPU machine one bare process was seen 25% slower
    # than the other for whole rounds); bare and bare2 rows are shown against the pooled reference.
    bases = [m for m in ("bare", "bare2") if m in procs]
    med = {m: {v: statistics.median(times[m][v]) / 1000 for v in VIEWS} for m in procs}
    bare = {v: statistics.median([t for m in bases for t in times[m][v]]) / 1000 for v in VIEWS}
    ref_slots = {v: [statistics.mean(xs) for xs in zip(*(slots[m][v] for m in bases), strict=True)] for v in VIEWS}
    ref_cpu = {v: statistics.median([c for m in bases for c in cpu[m][v]]) for v in VIEWS}
    ref_round = [statistics.mean(xs) for xs in zip(*(per_round[m]["heavy"] for m in bases), strict=True)]

    def paired(mode: str, view: str) -> float:
        return statistics.median(x / y for x, y in zip(slots[mode][view], ref_slots[view], strict=True))

    def cpu_ratio(mode: str, view: str) -> float:
        return statistics.median(cpu[mode][view]) / ref_cpu[view]

    extra_queries = QUERIES_HEAVY - QUERIES_LIGHT
    print()
    print(f"{args.rounds} rounds x {args.requests} requests per view and mode, in batches of {args.batch} taking "
          f"turns (heavy: {QUERIES_HEAVY} queries, 3 templates; light: {QUERIES_LIGHT} query, 1 template).")
    print(f"Reference \"bare\" = {' + '.join(bases)} pooled. µs = median wall time per request; / bare = ratio "
          "of medians (the headline); paired = median over batch slots of (mode batch median / bare batch "
          "median of the same slot); CPU = process CPU time (all threads) per request, ratio of medians; "
          f"µs/query = (heavy overhead - light overhead) / {extra_queries}.")
    print()
    print("| mode | heavy µs | heavy / bare | paired | CPU | light µs | light / bare | paired | µs/query "
          "| heavy / bare by round | peak mem | retained |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for mode in procs:
        m = med[mode]
        per_query = ((m["heavy"] - bare["heavy"]) - (m["light"] - bare["light"])) / extra_queries
        ratios = [x / y for x, y in zip(per_round[mode]["heavy"], ref_round, strict=True)]
        mem = memory.get(mode)
        peak = f"{mem['peak_kb'] / 1024:.2f} MB" if mem else "–"
        retained = f"{mem['retained_kb']:+.0f} KB" if mem else "–"
        pq = "–" if mode in bases else f"{per_query:+.1f}"
        print(f"| {mode} | {m['heavy']:.0f} | {m['heavy'] / bare['heavy']:.3f} | {paired(mode, 'heavy'):.3f} "
              f"| {cpu_ratio(mode, 'heavy'):.3f} | {m['light']:.0f} | {m['light'] / bare['light']:.3f} "
              f"| {paired(mode, 'light'):.3f} | {pq} | {min(ratios):.2f}–{max(ratios):.2f} | {peak} | {retained} |")
    for mode, reason in skipped.items():
        print(f"| {mode} | not run: {reason} |" + " |" * 10)
    for mode, reason in failed.items():
        print(f"| {mode} | FAILED: {reason} |" + " |" * 10)
    print()
    if memory:
        print(f"Memory (heavy view, tracemalloc): {args.mem_warm} requests to reach the steady state (bounded "
              f"stores full), then {args.mem_requests} more. peak = most allocated above the steady state while "
              f"they ran; retained = still allocated after them (after gc). otel's in-memory exporter is "
              f"emptied first (a test sink, not part of its cost).")
        print()
    print("Recorded (last verification, heavy):")
    for m in procs:
        if m not in ("bare", "bare2"):
            print(f"- {m}: {json.dumps(verify_info.get(m, {}).get('heavy'), default=str)[:240]}")
    print()
    if len(bases) == 2:
        print(f"Noise floor: bare2/bare = {med['bare2']['heavy'] / med['bare']['heavy']:.3f} heavy, "
              f"{med['bare2']['light'] / med['bare']['light']:.3f} light (two identical processes).")
        print()
    summary = " ".join(f"{m}/bare={med[m]['heavy'] / bare['heavy']:.2f}" for m in procs if m not in bases)
    print(summary)


def machine_notes() -> str:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import django

    return (f"{platform.system()} {platform.release()}, {os.cpu_count()} CPU ({cpu}), "
            f"Python {platform.python_version()}, Django {django.get_version()}")


if __name__ == "__main__":
    sys.exit(main())
