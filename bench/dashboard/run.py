"""Dashboard benchmark in real Chromium: opening a 10,000-span trace, and ingesting 500 traces/s live.

    .venv/bin/python bench/dashboard/run.py                  # everything, writes bench/dashboard/RESULTS.md
    .venv/bin/python bench/dashboard/run.py --runs 3 --seconds 5 --no-write
    .venv/bin/python bench/dashboard/run.py --only ingest --profile ingest

See README.md in this folder for what is measured and how.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import cdp  # noqa: E402
import tracegen  # noqa: E402

CHROMIUM = os.environ.get("LIFECYCLE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 900}
CAP = 500  # frontend/src/lib/trace-store.ts DEFAULT_CAP
OPEN_TARGET_MS = 200.0
LAG_TARGET_MS = 250.0  # p95 of "oldest trace sent but not listed yet"
RESULTS = HERE / "RESULTS.md"
NOTES_MARKER = "<!-- notes: kept by run.py -->"
PROFILES = ROOT / "artifacts" / "bench-dashboard"

# Page-side probes. "Painted" is the first task after the next animation frame: the frame that shows the
# rows (and the canvas bars, drawn in that frame's rAF) has been produced by then.
OPEN_PROBE = """([trigger, expectedId]) => {
  const b = window.__bench = { t0: null, tDom: null, t1: null };
  document.addEventListener(trigger, () => {
    if (b.t0 === null) { b.t0 = performance.now(); performance.mark('bench-t0'); }
  }, { capture: true });
  const view = document.querySelector('[data-testid=trace-view]');
  const obs = new MutationObserver(() => {
    if (b.tDom !== null) return;
    if (view.dataset.state === 'done' && view.dataset.traceId === expectedId
        && view.querySelector('[data-testid=waterfall-row]')) {
      b.tDom = performance.now();
      obs.disconnect();
      requestAnimationFrame(() => setTimeout(() => { b.t1 = performance.now(); performance.mark('bench-t1'); }, 0));
    }
  });
  obs.observe(view, { subtree: true, childList: true, attributes: true });
  b.longtasks = [];
  new PerformanceObserver((l) => { for (const e of l.getEntries()) b.longtasks.push([e.startTime, e.duration]); })
    .observe({ type: 'longtask' });
}"""

INGEST_PROBE = """() => {
  const s = window.__ingest = { frames: 0, samples: [], longtasks: [], running: true, t0: performance.now() };
  const count = document.querySelector('[data-testid=request-count]');
  // Sampled just after each frame's animation callbacks (where the app applies the queued frames).
  const sample = () => s.samples.push([Date.now(), count.dataset.newestId || '', Number(count.dataset.total || 0)]);
  const step = () => {
    if (!s.running) return;
    s.frames++;
    setTimeout(sample, 0);
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
  new PerformanceObserver((l) => { for (const e of l.getEntries()) s.longtasks.push([e.startTime, e.duration]); })
    .observe({ type: 'longtask' });
}"""

INGEST_STOP = """() => {
  const s = window.__ingest;
  s.running = false;
  s.t1 = performance.now();
  s.heap = performance.memory ? performance.memory.usedJSHeapSize : null;
  return { frames: s.frames, samples: s.samples, longtasks: s.longtasks, t0: s.t0, t1: s.t1, heap: s.heap };
}"""

SELECTED_TOP = """() => {
  const r = document.querySelector('[data-testid=request-row].selected');
  return r ? r.getBoundingClientRect().top : null;
}"""


def machine_busy(seconds: float = 2.0) -> float | None:
    """Share of all CPUs busy over `seconds` (Linux), measured before the run: what else runs here."""
    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Feeder:
    """feeder.py in its own process."""

    def __init__(self, static: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        extra = ["--static", str(static)] if static else []
        self.proc = subprocess.Popen([sys.executable, str(HERE / "feeder.py"), "--port", str(self.port), *extra],
                                     cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.get("/control/clients")
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise SystemExit(f"feeder.py exited:\n{self.proc.stdout.read() if self.proc.stdout else ''}")
                time.sleep(0.1)
        raise SystemExit("feeder.py did not start")

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=30) as r:
            return r.read()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


CPU_SLOWDOWN = 1.0  # --cpu-slowdown: the page's main thread runs this many times slower (CDP throttling)


NO_WARM_UP: list[bool] = []  # set once a page showed that the build has no warm-up to wait for


def new_page(browser, feeder: Feeder):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    if CPU_SLOWDOWN > 1:
        page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(feeder.url + "/")
    page.wait_for_selector("[data-testid=connection-state][data-state=live]", timeout=15000)
    # The page's warm-up (frontend/src/views/warm-up.ts) runs when it is first idle, tens of ms after
    # loading: before a user could pick a file. Measuring an open that races it would measure the race.
    # (A build from before the warm-up, served with --static for a before/after, has no such mark.)
    if not NO_WARM_UP:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            page.wait_for_selector("#lifecycle-app[data-warm-up]", state="attached", timeout=5000)
        except PlaywrightTimeout:
            NO_WARM_UP.append(True)
            print("  (this build marks no warm-up: measuring without waiting for one)")
    return context, page, errors


def check_page(page, errors: list[str], what: str) -> None:
    banner = page.locator("[data-testid=error-banner]")
    if errors or banner.is_visible():
        text = banner.inner_text() if banner.is_visible() else ""
        raise SystemExit(f"{what}: the page reported errors: {errors} {text}")


class Profiler:
    """Chromium's CPU profiler through CDP, around one scenario run."""

    def __init__(self, page, name: str | None) -> None:
        self.cdp = page.context.new_cdp_session(page) if name else None
        self.name = name

    def __enter__(self) -> Profiler:
        if self.cdp:
            self.cdp.send("Profiler.enable")
            self.cdp.send("Profiler.setSamplingInterval", {"interval": 100})
            self.cdp.send("Profiler.start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.cdp and self.name and exc[0] is None:
            save_profile(self.cdp.send("Profiler.stop")["profile"], self.name)


def save_profile(profile: dict[str, Any], name: str) -> None:
    PROFILES.mkdir(parents=True, exist_ok=True)
    out = PROFILES / f"{name}.cpuprofile"
    out.write_text(json.dumps(profile))
    print(f"\nCPU profile ({name}): {out.relative_to(ROOT)} (open in Chrome DevTools > Performance)")
    for line in summarize_profile(profile):
        print("  " + line)


def summarize_profile(profile: dict[str, Any], top: int = 18) -> list[str]:
    nodes = {n["id"]: n for n in profile["nodes"]}
    self_us: Counter[int] = Counter()
    for node_id, dt in zip(profile["samples"], profile["timeDeltas"], strict=False):
        self_us[node_id] += dt
    by_fn: Counter[str] = Counter()
    for node_id, us in self_us.items():
        cf = nodes[node_id]["callFrame"]
        where = cf["url"].rsplit("/", 1)[-1]
        name = cf["functionName"] or "(anonymous)"
        by_fn[f"{name}  {where}:{cf['lineNumber'] + 1}" if where else name] += us
    total = sum(by_fn.values()) or 1
    return [f"{us / 1000:8.1f} ms  {100 * us / total:5.1f}%  {fn}" for fn, us in by_fn.most_common(top)]


# ---- (a) opening a 10,000-span trace


def wait_done(page) -> dict[str, Any]:
    page.wait_for_function("() => window.__bench && window.__bench.t1 !== null", timeout=60000)
    b = page.evaluate("() => window.__bench")
    in_window = [d for start, d in b["longtasks"] if start >= b["t0"] - 1]
    return {"ms": b["t1"] - b["t0"], "dom_ms": b["tDom"] - b["t0"], "longest_task_ms": max(in_window, default=0.0)}


class MainThreadCpu:
    """CPU time of the page's main thread between the probe's marks, from a Chromium trace of the user
    timing marks only. Unlike the wall time, it does not grow when other processes take the CPU."""

    CATEGORIES = ["blink.user_timing"]

    def __init__(self, browser, page) -> None:
        self.browser, self.page = browser, page
        self.ms: float | None = None

    def __enter__(self) -> MainThreadCpu:
        self.browser.start_tracing(page=self.page, categories=self.CATEGORIES)
        return self

    def __exit__(self, *exc: object) -> None:
        events = json.loads(self.browser.stop_tracing())["traceEvents"]
        if exc[0] is None:
            self.ms = main_thread_cpu_ms(events)


def main_thread_cpu_ms(events: list[dict[str, Any]]) -> float | None:
    """The marks carry the main thread's CPU clock ("tts", µs): the difference is its CPU time between them."""
    marks = {e["name"]: e for e in events if e.get("name") in ("bench-t0", "bench-t1") and "tts" in e}
    if len(marks) < 2:
        return None
    return (marks["bench-t1"]["tts"] - marks["bench-t0"]["tts"]) / 1000


def open_from_file(browser, feeder: Feeder, path: Path, trace_id: str, profile: str | None,
                   warm_up: tuple[Path, str] | None = None) -> dict[str, Any]:
    """Opens the file in a fresh page (loaded, connected, its own warm-up done); with ``warm_up`` (another
    trace file and its id), that one is opened first, untimed, in the same page ("warm")."""
    context, page, errors = new_page(browser, feeder)
    try:
        if warm_up:
            page.evaluate(OPEN_PROBE, ["change", warm_up[1]])
            page.set_input_files("[data-testid=open-file-input]", str(warm_up[0]))
            wait_done(page)
            page.wait_for_timeout(300)
        page.evaluate(OPEN_PROBE, ["change", trace_id])
        with Profiler(page, profile), MainThreadCpu(browser, page) as cpu:
            page.set_input_files("[data-testid=open-file-input]", str(path))
            r = wait_done(page)
        r["cpu_ms"] = cpu.ms
        r["rows"] = page.locator("[data-testid=waterfall-row]").count()
        check_page(page, errors, "open from file")
        return r
    finally:
        context.close()


def open_from_live(browser, feeder: Feeder, trace_id: str, profile: str | None) -> dict[str, Any]:
    context, page, errors = new_page(browser, feeder)
    try:
        feeder.get(f"/control/push?kind=big&id={trace_id}")
        row = page.locator(f'[data-testid=request-row][data-trace-id="{trace_id}"][data-running=false]')
        row.wait_for(timeout=30000)
        page.wait_for_timeout(300)  # let the arrival's work settle: only the click is timed
        page.evaluate(OPEN_PROBE, ["click", trace_id])
        with Profiler(page, profile), MainThreadCpu(browser, page) as cpu:
            row.click()
            r = wait_done(page)
        r["cpu_ms"] = cpu.ms
        check_page(page, errors, "open from trace.end")
        return r
    finally:
        context.close()


# ---- (b) ingesting traces over the websocket


def parse_seq(trace_id: str) -> int:
    return int(trace_id, 16) if trace_id.startswith("0000") else 0


def ingest(feeder: Feeder, rate: float, seconds: float, live_spans: bool, profile: str | None) -> dict[str, Any]:
    """The stream, in a Chromium of its own driven over bare CDP (cdp.py says why: not Playwright)."""
    browser = cdp.Chromium(CHROMIUM, CHROMIUM_ARGS, VIEWPORT["width"], VIEWPORT["height"])
    try:
        page = browser.new_page(feeder.url + "/")
        page.wait_for("document.querySelector('[data-testid=connection-state]')?.dataset.state === 'live'")
        page.evaluate("window.__errors = []; window.addEventListener('error', (e) => window.__errors.push(e.message))")
        # A trace open (and its row selected) while the traffic flows.
        seed = "5eed5eed5eed5eed"
        feeder.get(f"/control/push?kind=request&id={seed}")
        row = f"document.querySelector('[data-testid=request-row][data-trace-id=\"{seed}\"][data-running=false]')"
        page.wait_for(f"!!{row}")
        page.evaluate(f"{row}.click()")
        page.wait_for(f"!!document.querySelector(\"[data-testid=trace-view][data-state=done][data-trace-id='{seed}']\")")
        time.sleep(0.3)
        top_before = page.evaluate(f"({SELECTED_TOP})()")
        # Main-thread CPU (thread ticks), split into script / style / layout, over the stream.
        page.send("Performance.enable", {"timeDomain": "threadTicks"})
        m0 = metrics(page)
        w0 = time.monotonic()
        page.evaluate(f"({INGEST_PROBE})()")
        if profile:
            page.send("Profiler.enable")
            page.send("Profiler.setSamplingInterval", {"interval": 100})
            page.send("Profiler.start")
        feeder.get(f"/control/stream?rate={rate}&seconds={seconds}&live_spans={int(live_spans)}")
        deadline = time.monotonic() + seconds + 60
        while True:
            log = json.loads(feeder.get("/control/log"))
            if log["done"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        # Catch up: the page should show the last trace promptly.
        last = stream_last_id(log)
        caught_up = True
        try:
            page.wait_for(f"document.querySelector('[data-testid=request-count]').dataset.newestId === '{last}'", 10)
        except TimeoutError:
            caught_up = False
        time.sleep(0.2)
        s = page.evaluate(f"({INGEST_STOP})()")
        m1 = metrics(page)
        wall = time.monotonic() - w0
        cpu = {k: (m1.get(k, 0) - m0.get(k, 0)) / wall for k in ("ThreadTime", "ScriptDuration", "RecalcStyleDuration",
                                                                  "LayoutDuration")}
        if profile:
            save_profile(page.send("Profiler.stop")["profile"], profile)
        final = page.evaluate("""(() => {
          const c = document.querySelector('[data-testid=request-count]').dataset;
          const v = document.querySelector('[data-testid=trace-view]').dataset;
          const banner = document.querySelector('[data-testid=error-banner]');
          return { total: Number(c.total), newest: c.newestId, open: v.traceId, state: v.state,
                   errors: window.__errors, banner: banner && !banner.hidden ? banner.textContent : null };
        })()""")
        if final["errors"] or final["banner"]:
            raise SystemExit(f"ingest: the page reported errors: {final['errors']} {final['banner']}")
        top_after = page.evaluate(f"({SELECTED_TOP})()")
        meta_chromium = browser.version
    finally:
        browser.close()
    r = analyze_ingest(log, s, final, caught_up, seed, top_before, top_after)
    r["browser"] = meta_chromium
    r["cpu"] = cpu
    return r


def metrics(page: cdp.Page) -> dict[str, float]:
    return {m["name"]: m["value"] for m in page.send("Performance.getMetrics")["metrics"]}


def stream_last_id(log: dict[str, Any]) -> str:
    from feeder import stream_id

    return stream_id(log["total"])


def analyze_ingest(log, s, final, caught_up, seed, top_before, top_after) -> dict[str, Any]:
    starts = sorted(log["starts"])
    send_ms = [t for _, t in starts]  # seq i+1 at index i
    first_ms, last_ms = send_ms[0], send_ms[-1]
    lags: list[float] = []
    behind: list[int] = []
    for t, newest, _total in s["samples"]:
        if t < first_ms or t > last_ms + 50:
            continue
        shown = parse_seq(newest)
        sent = bisect.bisect_right(send_ms, t)  # traces whose first frame went out by t
        behind.append(max(0, sent - shown))
        lags.append(t - send_ms[shown] if sent > shown else 0.0)  # oldest sent but not listed
    window_ms = s["t1"] - s["t0"]
    long = [d for _, d in s["longtasks"]]
    expected_rows = min(CAP, log["total"] + 1)  # + the open (pinned) trace
    return {
        "sent": log["total"],
        "send_s": (last_ms - first_ms) / 1000,
        "achieved_rate": log["total"] / max(1e-9, (last_ms - first_ms) / 1000),
        "frames_sent": log["frames"],
        "mb_sent": log["bytes"] / 1e6,
        "fps": s["frames"] / (window_ms / 1000),
        "lag_p50_ms": percentile(lags, 50),
        "lag_p95_ms": percentile(lags, 95),
        "lag_max_ms": max(lags, default=0.0),
        "behind_max": max(behind, default=0),
        "longtasks": len(long),
        "longtask_total_ms": sum(long),
        "longtask_max_ms": max(long, default=0.0),
        "rows": final["total"],
        "expected_rows": expected_rows,
        "caught_up": caught_up and final["newest"] == stream_last_id(log),
        "open_kept": final["open"] == seed and final["state"] == "done",
        "selected_moved_px": None if top_before is None or top_after is None else abs(top_after - top_before),
        "heap_mb": s["heap"] / 1e6 if s["heap"] else None,
    }


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    v = sorted(values)
    k = (len(v) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


# ---- report


def summarize_open(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ms = [r["ms"] for r in runs]
    cpu = [r["cpu_ms"] for r in runs if r.get("cpu_ms") is not None]
    return {"median_ms": statistics.median(ms), "min_ms": min(ms), "max_ms": max(ms),
            "cpu_median_ms": statistics.median(cpu) if cpu else None,
            "dom_median_ms": statistics.median(r["dom_ms"] for r in runs),
            "longest_task_ms": statistics.median(r["longest_task_ms"] for r in runs), "runs": len(runs)}


def report(results: dict[str, Any], args: argparse.Namespace, meta: dict[str, str]) -> tuple[list[str], bool]:
    lines: list[str] = []
    ok = True
    for key, label in (("open_file", "from the file input, fresh page (read + parse + validate + layout + paint)"),
                       ("open_file_warm", "from the file input, page that opened one before"),
                       ("open_live", "from the list, after its trace.end arrived, fresh page (layout + paint)")):
        if key not in results:
            continue
        o = results[key]
        hit = o["median_ms"] < OPEN_TARGET_MS
        ok &= hit
        cpu = "" if o["cpu_median_ms"] is None else f"; main thread busy {o['cpu_median_ms']:.0f} ms"
        lines.append(f"| open {args.spans:,}-span trace {label} | **{o['median_ms']:.0f} ms** median "
                     f"(min {o['min_ms']:.0f}, max {o['max_ms']:.0f}; rows in the DOM at {o['dom_median_ms']:.0f} ms"
                     f"{cpu};"
                     f" longest task {o['longest_task_ms']:.0f} ms; {o['runs']} runs) | < {OPEN_TARGET_MS:.0f} ms"
                     f" | {'met' if hit else 'MISSED'} |")
    if "ingest" in results:
        i = results["ingest"]
        kept = i["caught_up"] and i["rows"] == i["expected_rows"] and i["lag_p95_ms"] < LAG_TARGET_MS
        ok &= kept and i["open_kept"]
        heap = "" if i["heap_mb"] is None else f"; JS heap {i['heap_mb']:.0f} MB"
        lines += [
            f"| ingest: traces sent | {i['sent']:,} in {i['send_s']:.1f} s ({i['achieved_rate']:.0f}/s), "
            f"{i['frames_sent']:,} frames, {i['mb_sent']:.0f} MB | {args.rate:.0f}/s for {args.seconds:.0f} s | |",
            f"| ingest: frames per second (rAF) | **{i['fps']:.0f}** | | |",
            f"| ingest: main thread CPU | {100 * i['cpu']['ThreadTime']:.0f}% (script "
            f"{100 * i['cpu']['ScriptDuration']:.0f}%, style {100 * i['cpu']['RecalcStyleDuration']:.0f}%, layout "
            f"{100 * i['cpu']['LayoutDuration']:.0f}%) | | |",
            f"| ingest: list lag (oldest trace sent, not yet listed) | **p50 {i['lag_p50_ms']:.0f} ms, "
            f"p95 {i['lag_p95_ms']:.0f} ms**, max {i['lag_max_ms']:.0f} ms; at most {i['behind_max']} traces behind"
            f" | p95 < {LAG_TARGET_MS:.0f} ms | {'met' if kept else 'MISSED'} |",
            f"| ingest: rows listed at the end | {i['rows']} of {i['expected_rows']} expected (cap {CAP}, open trace"
            f" pinned); newest shown = last sent: {'yes' if i['caught_up'] else 'NO'} | equal | "
            f"{'met' if i['rows'] == i['expected_rows'] and i['caught_up'] else 'MISSED'} |",
            f"| ingest: long tasks (> 50 ms) | {i['longtasks']} ({i['longtask_total_ms']:.0f} ms in all, longest "
            f"{i['longtask_max_ms']:.0f} ms) | | |",
            f"| ingest: open trace kept, selected row moved | {'yes' if i['open_kept'] else 'NO'}, "
            f"{i['selected_moved_px'] if i['selected_moved_px'] is not None else '?'} px{heap} | kept, 0 px | "
            f"{'met' if i['open_kept'] and not i['selected_moved_px'] else 'MISSED'} |",
        ]
    head = ["| measure | result | target | |", "|---|---|---|---|"]
    return head + lines, ok


def write_results(table: list[str], ok: bool, meta: dict[str, str]) -> None:
    notes = ""
    if RESULTS.exists() and NOTES_MARKER in RESULTS.read_text():
        notes = RESULTS.read_text().split(NOTES_MARKER, 1)[1]
    text = "\n".join([
        "# Dashboard benchmark: last run",
        "",
        f"- date: {meta['date']}",
        f"- command: `{meta['command']}`",
        f"- commit: {meta['commit']}; Chromium {meta['chromium']}; {meta['machine']}",
        f"- all targets met: **{'yes' if ok else 'no'}**",
        "",
        *table,
        "",
        "Written by `run.py` (see README.md for what each figure means). The notes below are kept across runs.",
        "",
        NOTES_MARKER,
    ]) + (notes if notes else "\n")
    RESULTS.write_text(text)


def commit_label(static: Path | None) -> str:
    """HEAD, and whether the dashboard served differs from it (local changes, or another build)."""
    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "?"
    if static:
        return f"{head}, serving the build in {static}"
    dirty = git("status", "--porcelain", "--", "frontend", "lifecycle/static/lifecycle")
    return f"{head} + local changes to the dashboard" if dirty else head


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each open measurement (median reported)")
    parser.add_argument("--spans", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=500, help="traces per second for the ingest run")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--no-live-spans", action="store_true", help="ingest: only trace.start/trace.end")
    parser.add_argument("--only", choices=["open", "ingest"], help="one part only")
    parser.add_argument("--profile", choices=["open-file", "open-live", "ingest"],
                        help="record a CDP CPU profile of one extra run of this scenario")
    parser.add_argument("--cpu-slowdown", type=float, default=1.0,
                        help="open runs: throttle the page's main thread N times (as on a slower machine)")
    parser.add_argument("--no-write", action="store_true", help=f"do not rewrite {RESULTS.name}")
    parser.add_argument("--static", type=Path, help="serve this build instead of lifecycle/static (a folder holding "
                        "lifecycle/dashboard.js|css), e.g. an unminified one for readable profiles")
    args = parser.parse_args()
    global CPU_SLOWDOWN
    CPU_SLOWDOWN = args.cpu_slowdown

    from playwright.sync_api import sync_playwright

    built = ROOT / "lifecycle" / "static" / "lifecycle" / "dashboard.js"
    if not built.exists():
        raise SystemExit(f"{built} is missing: run `make frontend`")
    busy = machine_busy()
    trace = tracegen.big_trace(args.spans)
    tmp = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    big = tmp / "trace-10k.json"
    big.write_text(json.dumps(trace, separators=(",", ":")))
    other_id = "b16b16b16b16b16a"  # the warm-up trace of the "warm" runs: same shape, another id
    other = tmp / "trace-10k-warm-up.json"
    other.write_text(json.dumps({**trace, "id": other_id}, separators=(",", ":")))
    feeder = Feeder(args.static)
    results: dict[str, Any] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            meta = {
                "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "command": " ".join([".venv/bin/python", "bench/dashboard/run.py", *map(shlex.quote, sys.argv[1:])]),
                "commit": commit_label(args.static),
                "chromium": browser.version,
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, headless, viewport 1400x900; CPUs "
                           f"{'?' if busy is None else f'{100 * busy:.0f}%'} busy with other work just before the run"
                           + (f"; page main thread throttled {args.cpu_slowdown:g}x (--cpu-slowdown)"
                              if args.cpu_slowdown > 1 else ""),
            }
            if args.only in (None, "open"):
                mb = big.stat().st_size / 1e6
                print(f"(a) opening a {args.spans:,}-span trace ({mb:.1f} MB), {args.runs} runs each")
                runs = []
                for n in range(args.runs):
                    runs.append(open_from_file(browser, feeder, big, trace["id"], None))
                    print(f"  file #{n + 1}: {runs[-1]['ms']:.0f} ms (rows in DOM {runs[-1]['dom_ms']:.0f} ms, "
                          f"main thread {runs[-1]['cpu_ms'] or 0:.0f} ms)")
                results["open_file"] = summarize_open(runs)
                runs = []
                for n in range(args.runs):
                    runs.append(open_from_file(browser, feeder, big, trace["id"], None, warm_up=(other, other_id)))
                    print(f"  file, warm #{n + 1}: {runs[-1]['ms']:.0f} ms (rows in DOM {runs[-1]['dom_ms']:.0f} ms, "
                          f"main thread {runs[-1]['cpu_ms'] or 0:.0f} ms)")
                results["open_file_warm"] = summarize_open(runs)
                runs = []
                for n in range(args.runs):
                    runs.append(open_from_live(browser, feeder, f"b16{n:013x}", None))
                    print(f"  live #{n + 1}: {runs[-1]['ms']:.0f} ms (rows in DOM {runs[-1]['dom_ms']:.0f} ms, "
                          f"main thread {runs[-1]['cpu_ms'] or 0:.0f} ms)")
                results["open_live"] = summarize_open(runs)
                if args.profile == "open-file":
                    open_from_file(browser, feeder, big, trace["id"], "open-file")
                if args.profile == "open-live":
                    open_from_live(browser, feeder, "b16fffffffffffff", "open-live")
            browser.close()
        if args.only in (None, "ingest"):
            print(f"(b) ingesting {args.rate:.0f} traces/s for {args.seconds:.0f} s with a trace open")
            results["ingest"] = ingest(feeder, args.rate, args.seconds, not args.no_live_spans,
                                       "ingest" if args.profile == "ingest" else None)
    finally:
        feeder.stop()
    table, ok = report(results, args, meta)
    print()
    print("\n".join(table))
    print(f"\nall targets met: {'yes' if ok else 'NO'}")
    if not args.no_write:
        write_results(table, ok, meta)
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
