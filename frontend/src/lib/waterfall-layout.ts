// Waterfall math: span times (ns) to canvas pixels on a shared axis.

import type { Span } from "./trace-format";

export const MIN_BAR_PX = 2;
export const ROW_HEIGHT = 24;

/** The visible slice of the time axis, ns from the trace start. */
export interface TimeWindow {
  start: number;
  end: number;
}

export interface Bar {
  x: number;
  width: number;
  /** The span has no duration yet: drawn up to "now" with a striped end. */
  open: boolean;
}

/** End of a span; an open span ends at `nowNs` (but never before it started). */
export function spanEndNs(span: Span, nowNs: number): number {
  return span.duration_ns === null ? Math.max(span.start_ns, nowNs) : span.start_ns + span.duration_ns;
}

export function nsToX(ns: number, win: TimeWindow, widthPx: number): number {
  const range = win.end - win.start;
  return range > 0 ? ((ns - win.start) / range) * widthPx : 0;
}

export function xToNs(x: number, win: TimeWindow, widthPx: number): number {
  return widthPx > 0 ? win.start + (x / widthPx) * (win.end - win.start) : win.start;
}

/** Bar geometry in pixels; at least MIN_BAR_PX wide so zero-length spans stay visible and clickable. */
export function barFor(span: Span, win: TimeWindow, widthPx: number, nowNs: number): Bar {
  const x = nsToX(span.start_ns, win, widthPx);
  const x2 = nsToX(spanEndNs(span, nowNs), win, widthPx);
  return { x, width: Math.max(MIN_BAR_PX, x2 - x), open: span.duration_ns === null };
}

/** Latest end among the spans (open ones at `nowNs`). */
export function maxEndNs(spans: readonly Span[], nowNs: number): number {
  let m = 0;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i] as Span;
    const end = s.duration_ns === null ? (s.start_ns > nowNs ? s.start_ns : nowNs) : s.start_ns + s.duration_ns;
    if (end > m) m = end;
  }
  return m;
}

/**
 * Axis length. A finished trace: its duration (or the latest span end if a span overruns). A running
 * one grows in 1.25x steps from `previous`, so the bars do not shrink on every frame.
 */
export function axisEndNs(traceDurationNs: number | null, latestEndNs: number, previous: number): number {
  if (traceDurationNs !== null) return Math.max(traceDurationNs, latestEndNs, 1);
  let end = previous > 0 ? previous : 1_000_000;
  while (end < latestEndNs) end *= 1.25;
  return end;
}

/** Step for axis ticks: 1, 2 or 5 times a power of ten, at least `minNs`. */
export function niceStep(minNs: number): number {
  if (!(minNs > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(minNs));
  for (const m of [1, 2, 5, 10]) if (m * p >= minNs) return m * p;
  return 10 * p;
}

export interface Tick {
  ns: number;
  x: number;
}

/** Ticks at least `minSpacingPx` apart across the window. */
export function axisTicks(win: TimeWindow, widthPx: number, minSpacingPx = 90): Tick[] {
  const range = win.end - win.start;
  if (!(range > 0) || widthPx <= 0) return [];
  const step = niceStep((range * minSpacingPx) / widthPx);
  const out: Tick[] = [];
  for (let ns = Math.ceil(win.start / step) * step; ns <= win.end + step * 1e-9; ns += step) {
    out.push({ ns, x: nsToX(ns, win, widthPx) });
    if (out.length > 1000) break;
  }
  return out;
}

/** Where the duration label of a bar fits: right of it, else left of it, else nowhere. */
export function labelSide(bar: Bar, labelPx: number, widthPx: number, gapPx = 4): "right" | "left" | "none" {
  if (bar.x + bar.width + gapPx + labelPx <= widthPx) return "right";
  if (bar.x - gapPx - labelPx >= 0) return "left";
  return "none";
}

/** Zoom the window around `centerNs` by `factor` (< 1 zooms in), clamped to [0, limitNs]. */
export function zoomWindow(win: TimeWindow, centerNs: number, factor: number, limitNs: number): TimeWindow {
  const minRange = 1_000; // 1 µs
  const range = Math.min(limitNs, Math.max(minRange, (win.end - win.start) * factor));
  const ratio = win.end > win.start ? (centerNs - win.start) / (win.end - win.start) : 0.5;
  let start = centerNs - ratio * range;
  start = Math.max(0, Math.min(start, limitNs - range));
  return { start, end: start + range };
}

/** Pan the window by `deltaNs`, clamped to [0, limitNs]. */
export function panWindow(win: TimeWindow, deltaNs: number, limitNs: number): TimeWindow {
  const range = win.end - win.start;
  const start = Math.max(0, Math.min(win.start + deltaNs, limitNs - range));
  return { start, end: start + range };
}

/** First and last row index (exclusive) to draw for a scroll position, with overscan. */
export function visibleRange(
  scrollTop: number,
  viewportPx: number,
  rowCount: number,
  rowPx = ROW_HEIGHT,
  overscan = 6,
): [number, number] {
  const first = Math.max(0, Math.floor(scrollTop / rowPx) - overscan);
  const last = Math.min(rowCount, Math.ceil((scrollTop + viewportPx) / rowPx) + overscan);
  return [first, Math.max(first, last)];
}
