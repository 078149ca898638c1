// A fresh page pays once for things the first trace it shows needs: looking up every font size and
// weight the trace view uses (a round trip to the browser process each), compiling the code that
// parses, lays out and draws a trace, and setting up the canvas. In a fresh page that made opening a
// 10,000-span file take 2.5 times as long as the same open a moment later (bench/dashboard). So, when
// the page is first idle, a small sample trace goes through the same path out of sight: parsed from
// text, shown in a TraceView of its own, laid out and drawn, then thrown away.

import { parseTraceText } from "../lib/trace-parse";
import { sampleTraceText } from "../lib/sample-trace";
import type { OpenTrace } from "../state";
import { h } from "./dom";
import { TraceView } from "./trace-view";

/**
 * Schedules the warm-up for when the page is first idle, unless `needed()` says no by then (a trace is
 * already open). The host gets `data-warm-up="done"` after it (or "skipped").
 */
export function warmUpWhenIdle(host: HTMLElement, needed: () => boolean): void {
  const run = (): void => {
    if (needed()) warmUp(host, () => (host.dataset["warmUp"] = "done"));
    else host.dataset["warmUp"] = "skipped";
  };
  if (typeof requestIdleCallback !== "undefined") requestIdleCallback(run, { timeout: 1000 });
  else setTimeout(run, 50);
}

/** Shows the sample trace in `host`, out of sight, for two frames; `done` runs once it is removed. */
export function warmUp(host: HTMLElement, done?: () => void): void {
  let view: TraceView | null = null;
  // Styled and laid out like the real pane, but off screen, hidden (never painted) and inert.
  const box = h("div", { class: "warm-up", attrs: { "aria-hidden": "true", inert: "" } });
  const finish = (): void => {
    view?.waterfall.dispose();
    box.remove();
    done?.();
  };
  try {
    const trace = parseTraceText(sampleTraceText(), "sample trace");
    view = new TraceView({ select: () => {}, highlightGroup: () => {} });
    box.append(view.el);
    host.append(box);
    const open: OpenTrace = { id: trace.id, source: "file", fileName: null, fileText: null, base: trace, loading: false, error: null };
    view.show(trace, open, 0);
    // Nothing of it may be mistaken for the real view's elements (by tests, or a user's script).
    for (const el of box.querySelectorAll("[data-testid]")) el.removeAttribute("data-testid");
    void box.offsetWidth; // style and layout now: the fonts are looked up here
    // The waterfall draws its bars (and their labels) on the next frame; it is painted in that frame.
    requestAnimationFrame(() => requestAnimationFrame(finish));
  } catch (e) {
    // Only a speed-up: the page works without it.
    console.warn("[lifecycle] warm-up failed", e);
    finish();
  }
}
