// Draws the waterfall bars of the visible rows on one canvas: one Path2D fill per color, open spans
// with a striped end, duration labels on whichever side has room. A folded group of sibling queries is
// drawn as segments (one per query) on a thin line from its first start to its last end, red when one
// of them failed.

import type { SiblingGroup, WaterfallRow } from "../lib/autogroup";
import { formatDuration } from "../lib/format";
import { kindPaint } from "../lib/kinds";
import { h } from "./dom";
import type { SpanNode } from "../lib/span-tree";
import { MIN_BAR_PX, ROW_HEIGHT, axisTicks, barFor, labelSide, visibleRange, type Bar, type TimeWindow } from "../lib/waterfall-layout";

const BAR_PAD = 5;

/** The bars' canvas and the time axis above it, sized and colored from the page's CSS. */
export class BarCanvas {
  readonly canvas: HTMLCanvasElement;
  readonly axis: HTMLElement;
  private readonly colors = new Map<string, string>();
  private box = "";
  private axisKey = "";

  /** `styled`: the element whose computed style holds the color variables. */
  constructor(private readonly styled: HTMLElement) {
    this.canvas = h("canvas", { class: "wf-canvas", attrs: { "aria-hidden": "true" } });
    this.axis = h("div", { class: "wf-axis", attrs: { "aria-hidden": "true" } });
  }

  /** The theme changed: read the colors again. */
  forgetColors(): void {
    this.colors.clear();
  }

  private color(cssVar: string): string {
    let c = this.colors.get(cssVar);
    if (c === undefined) {
      c = (typeof getComputedStyle !== "undefined" ? getComputedStyle(this.styled).getPropertyValue(cssVar).trim() : "") || "#999";
      this.colors.set(cssVar, c);
    }
    return c;
  }

  /** Draws the bars in a canvas of cssW x cssH CSS pixels placed `left` pixels from the name column's start. */
  draw(left: number, cssW: number, cssH: number, input: Omit<BarsInput, "cssW" | "cssH" | "color">): void {
    const dpr = typeof devicePixelRatio === "number" && devicePixelRatio > 0 ? devicePixelRatio : 1;
    const c = this.canvas;
    const box = `${left},${cssW},${cssH}`;
    if (box !== this.box) {
      this.box = box;
      c.style.left = `${left}px`;
      c.style.width = `${cssW}px`;
      c.style.height = `${cssH}px`;
    }
    const pw = Math.round(cssW * dpr);
    const ph = Math.round(cssH * dpr);
    if (c.width !== pw) c.width = pw;
    if (c.height !== ph) c.height = ph;
    const ctx = c.getContext("2d");
    if (!ctx || cssW === 0) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    drawBars(ctx, { ...input, cssW, cssH, color: (v) => this.color(v) });
  }

  /** Tick labels over the bars (rewritten only when they move). */
  drawAxis(left: number, width: number, win: TimeWindow): void {
    const ticks = axisTicks(win, width);
    const key = `${left}:${ticks.map((t) => `${t.ns}@${t.x.toFixed(1)}`).join(",")}`;
    if (key === this.axisKey) return;
    this.axisKey = key;
    const labels = ticks.map((t) => {
      const el = h("span", { class: "wf-tick", text: formatDuration(t.ns) });
      el.style.left = `${t.x.toFixed(1)}px`;
      return el;
    });
    this.axis.style.left = `${left}px`;
    this.axis.replaceChildren(...labels);
  }
}

export interface BarsInput {
  rows: readonly WaterfallRow[];
  scrollTop: number;
  /** Canvas size in CSS pixels. */
  cssW: number;
  cssH: number;
  /** Width of the time axis in CSS pixels. */
  width: number;
  win: TimeWindow;
  nowNs: number;
  highlight: ReadonlySet<number> | null;
  selected: number | null;
  /** A group under the keyboard cursor. */
  cursorGroup: number | null;
  openGroups: ReadonlySet<number>;
  /** Value of a CSS custom property (the kind colors live in styles.css). */
  color(cssVar: string): string;
}

interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function drawBars(ctx: CanvasRenderingContext2D, input: BarsInput): void {
  const { rows, scrollTop, cssW, cssH, width, win, nowNs, highlight, selected, color } = input;
  ctx.strokeStyle = color("--grid");
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (const t of axisTicks(win, width)) {
    const x = Math.round(t.x) + 0.5;
    ctx.moveTo(x, 0);
    ctx.lineTo(x, cssH);
  }
  ctx.stroke();

  const [first, last] = visibleRange(scrollTop, cssH, rows.length, ROW_HEIGHT, 1);
  const fills = new Map<string, Path2D>();
  const dimFills = new Map<string, Path2D>();
  const outline = new Path2D();
  const strong = new Path2D();
  const stripes: Rect[] = [];
  const labels: { text: string; x: number; y: number; align: CanvasTextAlign }[] = [];
  ctx.font = "11px system-ui, sans-serif";
  const barH = ROW_HEIGHT - 2 * BAR_PAD;
  const tracks = new Path2D();
  const fillOf = (cssVar: string, dim: boolean): Path2D => {
    const map = dim ? dimFills : fills;
    let p = map.get(cssVar);
    if (!p) map.set(cssVar, (p = new Path2D()));
    return p;
  };
  const label = (bar: Bar, text: string, y: number): void => {
    const tw = ctx.measureText(text).width;
    const side = labelSide(bar, tw, width);
    if (side === "right") labels.push({ text, x: bar.x + bar.width + 4, y: y + barH / 2, align: "left" });
    else if (side === "left") labels.push({ text, x: bar.x - 4, y: y + barH / 2, align: "right" });
  };
  for (let i = first; i < last; i++) {
    const row = rows[i] as WaterfallRow;
    const y = i * ROW_HEIGHT - scrollTop + BAR_PAD;
    if (row.type === "group") {
      const g = row.group;
      const lit = groupLit(g, highlight);
      const dim = !!highlight && !lit;
      const bar = drawGroup(g, { y, barH, win, width, cssW, nowNs, fill: fillOf(g.error ? "--kind-exception" : "--kind-sql", dim), outline: dim ? null : outline, tracks });
      if (!bar) continue;
      const sel = input.cursorGroup === g.id || (input.cursorGroup === null && !input.openGroups.has(g.id) && g.members.some((m) => m.span.id === selected));
      if (lit || sel) strong.rect(bar.x - 1, y - 1, bar.width + 2, barH + 2);
      label(bar, `×${g.members.length} · ${formatDuration(g.totalNs)}`, y);
      continue;
    }
    const s = row.node.span;
    const bar = barFor(s, win, width, nowNs);
    if (bar.x > cssW || bar.x + bar.width < 0) continue;
    const x = Math.max(-2, bar.x);
    const w = Math.min(bar.width - (x - bar.x), cssW + 2 - x);
    const dim = !!highlight && !highlight.has(s.id);
    fillOf(kindPaint(s.kind), dim).rect(x, y, w, barH);
    if (!dim) outline.rect(x + 0.5, y + 0.5, Math.max(1, w - 1), barH - 1);
    if (highlight?.has(s.id) || (s.id === selected && input.cursorGroup === null)) strong.rect(x - 1, y - 1, w + 2, barH + 2);
    if (bar.open) stripes.push({ x: Math.max(x, x + w - 14), y, w: Math.min(w, 14), h: barH });
    label(bar, s.duration_ns === null ? "running" : formatDuration(s.duration_ns), y);
  }
  ctx.strokeStyle = color("--bar-border");
  ctx.lineWidth = 1;
  ctx.stroke(tracks);
  ctx.globalAlpha = 0.28;
  for (const [v, p] of dimFills) {
    ctx.fillStyle = paint(v, color);
    ctx.fill(p);
  }
  ctx.globalAlpha = 1;
  for (const [v, p] of fills) {
    ctx.fillStyle = paint(v, color);
    ctx.fill(p);
  }
  ctx.strokeStyle = color("--bar-border");
  ctx.stroke(outline);
  if (stripes.length) drawStripes(ctx, stripes, color);
  ctx.strokeStyle = color("--bar-highlight");
  ctx.lineWidth = 2;
  ctx.stroke(strong);
  ctx.lineWidth = 1;
  ctx.fillStyle = color("--text-muted");
  ctx.textBaseline = "middle";
  for (const l of labels) {
    ctx.textAlign = l.align;
    ctx.fillText(l.text, l.x, l.y);
  }
}

/** A fill: a CSS variable ("--kind-sql", read through `color`) or a learned kind's "#rrggbb". */
function paint(v: string, color: (cssVar: string) => string): string {
  return v.startsWith("#") ? v : color(v);
}

function groupLit(g: SiblingGroup, highlight: ReadonlySet<number> | null): boolean {
  if (!highlight) return false;
  for (const m of g.members) if (highlight.has(m.span.id)) return true;
  return false;
}

interface GroupPaint {
  y: number;
  barH: number;
  win: TimeWindow;
  width: number;
  cssW: number;
  nowNs: number;
  fill: Path2D;
  outline: Path2D | null;
  tracks: Path2D;
}

/**
 * One segment per member (segments closer than a pixel merge, so a group of thousands costs what its
 * pixels cost), on a line from the first start to the last end. Returns the group's extent, or null
 * when it is off screen.
 */
function drawGroup(g: SiblingGroup, p: GroupPaint): Bar | null {
  let lo = Infinity;
  let hi = -Infinity;
  let segStart = NaN;
  let segEnd = NaN;
  const flush = (): void => {
    if (Number.isNaN(segStart)) return;
    const x = Math.max(-2, segStart);
    const w = Math.min(segEnd - x, p.cssW + 2 - x);
    if (w > 0) {
      p.fill.rect(x, p.y, w, p.barH);
      p.outline?.rect(x + 0.5, p.y + 0.5, Math.max(1, w - 1), p.barH - 1);
    }
  };
  // barFor's arithmetic inlined: a group can hold thousands of queries.
  const scale = p.win.end > p.win.start ? p.width / (p.win.end - p.win.start) : 0;
  const members = g.members;
  for (let i = 0; i < members.length; i++) {
    const s = (members[i] as SpanNode).span;
    const end = s.duration_ns === null ? Math.max(s.start_ns, p.nowNs) : s.start_ns + s.duration_ns;
    const x = (s.start_ns - p.win.start) * scale;
    const x2 = Math.max(x + MIN_BAR_PX, (end - p.win.start) * scale);
    if (x < lo) lo = x;
    if (x2 > hi) hi = x2;
    if (x2 < 0 || x > p.cssW) continue;
    if (!Number.isNaN(segStart) && x <= segEnd + 1) segEnd = Math.max(segEnd, x2);
    else {
      flush();
      segStart = x;
      segEnd = x2;
    }
  }
  flush();
  if (!(hi >= 0 && lo <= p.cssW)) return null;
  const mid = Math.round(p.y + p.barH / 2) + 0.5;
  p.tracks.moveTo(Math.max(0, lo), mid);
  p.tracks.lineTo(Math.min(p.cssW, hi), mid);
  return { x: lo, width: hi - lo, open: false };
}

/** The striped end of a span still open. */
function drawStripes(ctx: CanvasRenderingContext2D, stripes: Rect[], color: (v: string) => string): void {
  ctx.save();
  const clip = new Path2D();
  for (const s of stripes) clip.rect(s.x, s.y, s.w, s.h);
  ctx.clip(clip);
  ctx.strokeStyle = color("--stripe");
  ctx.lineWidth = 2;
  ctx.beginPath();
  for (const s of stripes) {
    for (let x = s.x - s.h; x < s.x + s.w; x += 6) {
      ctx.moveTo(x, s.y + s.h);
      ctx.lineTo(x + s.h, s.y);
    }
  }
  ctx.stroke();
  ctx.restore();
}
