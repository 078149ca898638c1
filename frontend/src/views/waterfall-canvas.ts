// Draws the waterfall bars of the visible rows on one canvas: one Path2D fill per color, open spans
// with a striped end, duration labels on whichever side has room.

import { formatDuration } from "../lib/format";
import { kindStyle } from "../lib/kinds";
import type { SpanNode } from "../lib/span-tree";
import { ROW_HEIGHT, axisTicks, barFor, labelSide, visibleRange, type TimeWindow } from "../lib/waterfall-layout";

const BAR_PAD = 5;

export interface BarsInput {
  rows: readonly SpanNode[];
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
  for (let i = first; i < last; i++) {
    const node = rows[i] as SpanNode;
    const s = node.span;
    const y = i * ROW_HEIGHT - scrollTop + BAR_PAD;
    const bar = barFor(s, win, width, nowNs);
    if (bar.x > cssW || bar.x + bar.width < 0) continue;
    const x = Math.max(-2, bar.x);
    const w = Math.min(bar.width - (x - bar.x), cssW + 2 - x);
    const cssVar = kindStyle(s.kind).cssVar;
    const dim = !!highlight && !highlight.has(s.id);
    const map = dim ? dimFills : fills;
    let p = map.get(cssVar);
    if (!p) map.set(cssVar, (p = new Path2D()));
    p.rect(x, y, w, barH);
    if (!dim) outline.rect(x + 0.5, y + 0.5, Math.max(1, w - 1), barH - 1);
    if (highlight?.has(s.id) || s.id === selected) strong.rect(x - 1, y - 1, w + 2, barH + 2);
    if (bar.open) stripes.push({ x: Math.max(x, x + w - 14), y, w: Math.min(w, 14), h: barH });
    const text = s.duration_ns === null ? "running" : formatDuration(s.duration_ns);
    const tw = ctx.measureText(text).width;
    const side = labelSide(bar, tw, width);
    if (side === "right") labels.push({ text, x: bar.x + bar.width + 4, y: y + barH / 2, align: "left" });
    else if (side === "left") labels.push({ text, x: bar.x - 4, y: y + barH / 2, align: "right" });
  }
  ctx.globalAlpha = 0.28;
  for (const [v, p] of dimFills) {
    ctx.fillStyle = color(v);
    ctx.fill(p);
  }
  ctx.globalAlpha = 1;
  for (const [v, p] of fills) {
    ctx.fillStyle = color(v);
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
