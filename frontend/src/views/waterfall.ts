// The waterfall: span names in the DOM on the left (virtualized rows of fixed height), bars of the
// visible rows drawn on one canvas on the right, on a shared time axis.

import { formatDuration } from "../lib/format";
import { GROUP_COLOR_VARS, kindClass, kindStyle } from "../lib/kinds";
import { buildSpanTree, revealSpans, visibleRows, type SpanNode, type SpanTree } from "../lib/span-tree";
import { groupMembership } from "../lib/summary";
import type { Span, Trace } from "../lib/trace-format";
import {
  ROW_HEIGHT,
  axisEndNs,
  axisTicks,
  maxEndNs,
  panWindow,
  visibleRange,
  xToNs,
  zoomWindow,
  type TimeWindow,
} from "../lib/waterfall-layout";
import { indentPx, spanLabel, spanTitle } from "../lib/span-label";
import { columnResizer } from "./column-resizer";
import { h, setAttr, setText, toggle } from "./dom";
import { RowPool } from "./row-pool";
import { drawBars } from "./waterfall-canvas";

/** Default width of the span name column: this share of the waterfall, within these bounds. */
const NAME_SHARE = 0.4;
const NAME_DEFAULT_MIN_PX = 260;
const NAME_DEFAULT_MAX_PX = 640;
/** Bounds of a width chosen by dragging. */
const NAME_MIN_PX = 120;
const BARS_MIN_PX = 80;
const MAX_INDENT_PX = 200;
const WIDTH_KEY = "lifecycle:waterfall-name-width";

function storedWidth(): number | null {
  try {
    const v = Number(localStorage.getItem(WIDTH_KEY));
    return Number.isFinite(v) && v > 0 ? v : null;
  } catch {
    return null;
  }
}

function storeWidth(px: number | null): void {
  try {
    if (px === null) localStorage.removeItem(WIDTH_KEY);
    else localStorage.setItem(WIDTH_KEY, String(Math.round(px)));
  } catch {
    // private mode or storage disabled: the width lasts for this page only
  }
}

interface RowEls {
  el: HTMLElement;
  indent: HTMLElement;
  twisty: HTMLElement;
  icon: HTMLElement;
  name: HTMLElement;
  chip: HTMLElement;
  flag: HTMLElement;
  node: SpanNode | null;
  index: number;
}

export interface WaterfallActions {
  select(spanId: number): void;
}

export class Waterfall {
  readonly el: HTMLElement;
  private readonly axis: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly resizer: HTMLElement;
  private readonly pool: RowPool<RowEls>;
  /** Width of the name column set by dragging its edge (null: the default share). */
  private userNameWidth: number | null = storedWidth();

  private trace: Trace | null = null;
  private spansRef: readonly Span[] | null = null;
  private tree: SpanTree | null = null;
  private rows: SpanNode[] = [];
  private groupOf = new Map<number, number>();
  private collapsed = new Set<number>();
  private selected: number | null = null;
  private highlight: ReadonlySet<number> | null = null;
  private nowNs = 0;
  private axisEnd = 1;
  private zoom: TimeWindow | null = null;
  private colors = new Map<string, string>();
  private drawPending = false;
  private refillAll = false;
  private shownNameWidth = -1;
  private canvasBox = "";
  private axisKey = "";

  constructor(private readonly actions: WaterfallActions) {
    this.axis = h("div", { class: "wf-axis", attrs: { "aria-hidden": "true" } });
    this.spacer = h("div", { class: "wf-spacer" });
    this.scroller = h("div", { class: "wf-scroll", testid: "waterfall", attrs: { tabindex: "0", role: "tree", "aria-label": "Spans" } }, this.spacer);
    this.pool = new RowPool(this.scroller, () => this.makeRow());
    this.canvas = h("canvas", { class: "wf-canvas", attrs: { "aria-hidden": "true" } });
    this.resizer = columnResizer(
      {
        current: () => this.nameWidth(),
        resize: (px, done) => {
          this.userNameWidth = px === null ? null : this.clampNameWidth(px);
          if (done) storeWidth(this.userNameWidth);
          this.requestDraw(true);
        },
      },
      "Resize the span name column",
    );
    this.el = h(
      "div",
      { class: "waterfall" },
      h("div", { class: "wf-head" }, h("div", { class: "wf-head-name", text: "Span" }), this.axis),
      h("div", { class: "wf-body" }, this.scroller, this.canvas),
      this.resizer,
    );

    this.scroller.addEventListener("scroll", () => this.requestDraw(true));
    this.scroller.addEventListener("click", (ev) => this.onClick(ev));
    this.scroller.addEventListener("dblclick", (ev) => {
      const id = this.rowIdAt(ev.target);
      if (id !== null) this.fitSpan(id);
    });
    this.scroller.addEventListener("wheel", (ev) => this.onWheel(ev), { passive: false });
    this.scroller.addEventListener("keydown", (ev) => this.onKey(ev));
    if (typeof ResizeObserver !== "undefined") new ResizeObserver(() => this.requestDraw(true)).observe(this.el);
    if (typeof matchMedia !== "undefined") matchMedia("(prefers-color-scheme: dark)").addEventListener?.("change", () => {
      this.colors.clear();
      this.requestDraw(false);
    });
  }

  /** Shows `trace` (a new one resets zoom, collapse state and scroll; the same one keeps them). */
  setTrace(trace: Trace, nowNs: number): void {
    const same = this.trace?.id === trace.id;
    if (!same) {
      this.collapsed = new Set();
      this.zoom = null;
      this.axisEnd = 0;
      this.scroller.scrollTop = 0;
      this.selected = null;
      this.highlight = null;
    }
    this.trace = trace;
    this.nowNs = nowNs;
    if (trace.spans !== this.spansRef) {
      this.spansRef = trace.spans;
      this.tree = buildSpanTree(trace.spans);
      this.groupOf = groupMembership(trace.summary);
      this.relayout();
    }
    this.updateAxisEnd();
    this.requestDraw(true);
  }

  clear(): void {
    this.trace = null;
    this.spansRef = null;
    this.tree = null;
    this.rows = [];
    this.relayout();
  }

  /** Live trace: move "now" on, growing the axis in steps. */
  tick(nowNs: number): void {
    this.nowNs = nowNs;
    this.updateAxisEnd();
    this.requestDraw(false);
  }

  setSelected(id: number | null): void {
    if (id === this.selected) return;
    this.selected = id;
    this.requestDraw(true);
  }

  setHighlight(ids: ReadonlySet<number> | null): void {
    if (ids === this.highlight) return;
    this.highlight = ids;
    if (ids && ids.size && this.tree) {
      this.collapsed = revealSpans(this.tree, this.collapsed, ids);
      this.relayout();
      const first = this.rows.findIndex((n) => ids.has(n.span.id));
      if (first >= 0) this.scrollToIndex(first);
    }
    this.requestDraw(true);
  }

  scrollToSpan(id: number): void {
    if (!this.tree) return;
    const before = this.collapsed;
    this.collapsed = revealSpans(this.tree, this.collapsed, [id]);
    if (this.collapsed.size !== before.size) this.relayout();
    const i = this.rows.findIndex((n) => n.span.id === id);
    if (i >= 0) this.scrollToIndex(i);
  }

  /** Expand all (false) or collapse all below the roots (true). */
  setAllCollapsed(collapse: boolean): void {
    if (!this.tree) return;
    this.collapsed = new Set();
    if (collapse) for (const r of this.tree.roots) for (const c of r.children) if (c.children.length) this.collapsed.add(c.span.id);
    this.relayout();
    this.requestDraw(true);
  }

  zoomBy(factor: number, centerFraction = 0.5): void {
    const win = this.window();
    const center = win.start + (win.end - win.start) * centerFraction;
    this.zoom = zoomWindow(win, center, factor, this.axisEnd);
    if (this.zoom.end - this.zoom.start >= this.axisEnd) this.zoom = null;
    this.requestDraw(false);
  }

  panBy(fraction: number): void {
    if (!this.zoom) return;
    this.zoom = panWindow(this.zoom, (this.zoom.end - this.zoom.start) * fraction, this.axisEnd);
    this.requestDraw(false);
  }

  resetZoom(): void {
    this.zoom = null;
    this.requestDraw(false);
  }

  fitSpan(id: number): void {
    const s = this.tree?.byId.get(id)?.span;
    if (!s) return;
    const end = s.duration_ns === null ? this.nowNs : s.start_ns + s.duration_ns;
    const pad = Math.max(1000, (end - s.start_ns) * 0.1);
    const start = Math.max(0, s.start_ns - pad);
    this.zoom = { start, end: Math.min(this.axisEnd, Math.max(end + pad, start + 1000)) };
    this.requestDraw(false);
  }

  focus(): void {
    this.scroller.focus();
  }

  get visibleSpanIds(): number[] {
    return this.rows.map((n) => n.span.id);
  }

  // ---- layout and drawing

  private window(): TimeWindow {
    return this.zoom ?? { start: 0, end: this.axisEnd };
  }

  private updateAxisEnd(): void {
    const t = this.trace;
    if (!t) return;
    const latest = t.duration_ns === null ? Math.max(maxEndNs(t.spans, this.nowNs), this.nowNs) : maxEndNs(t.spans, this.nowNs);
    this.axisEnd = axisEndNs(t.duration_ns, latest, this.axisEnd);
  }

  private relayout(): void {
    this.rows = this.tree ? visibleRows(this.tree, this.collapsed) : [];
    this.spacer.style.height = `${this.rows.length * ROW_HEIGHT}px`;
    this.refillAll = true; // collapse state or data changed: rows may show other spans now
    this.requestDraw(true);
  }

  private scrollToIndex(i: number): void {
    const top = i * ROW_HEIGHT;
    const view = this.scroller.clientHeight;
    if (top < this.scroller.scrollTop || top + ROW_HEIGHT > this.scroller.scrollTop + view) {
      this.scroller.scrollTop = Math.max(0, top - view / 3);
    }
  }

  private requestDraw(rows: boolean): void {
    if (rows) this.renderRows();
    if (this.drawPending) return;
    this.drawPending = true;
    const run = (): void => {
      this.drawPending = false;
      this.drawCanvas();
      this.drawAxis();
    };
    if (typeof requestAnimationFrame !== "undefined") requestAnimationFrame(run);
    else run();
  }

  /** Width of the span name column: the user's (dragged) or ~40% of the waterfall, min 260 px. */
  private nameWidth(): number {
    const w = this.scroller.clientWidth;
    const fallback = Math.min(NAME_DEFAULT_MAX_PX, Math.max(NAME_DEFAULT_MIN_PX, w * NAME_SHARE));
    return Math.round(this.clampNameWidth(this.userNameWidth ?? fallback));
  }

  private clampNameWidth(px: number): number {
    const w = this.scroller.clientWidth;
    const max = w > 0 ? Math.max(NAME_MIN_PX, w - BARS_MIN_PX) : Infinity;
    return Math.max(NAME_MIN_PX, Math.min(max, px));
  }

  private renderRows(): void {
    const view = this.scroller.clientHeight || 600;
    const [first, last] = visibleRange(this.scroller.scrollTop, view, this.rows.length, ROW_HEIGHT, 8);
    if (this.refillAll) {
      this.refillAll = false;
      this.pool.forEach((r) => (r.node = null));
    }
    const nameW = this.nameWidth();
    if (nameW !== this.shownNameWidth) {
      // A custom property on the container restyles every row: write it only when it changes.
      this.shownNameWidth = nameW;
      this.el.style.setProperty("--wf-name-width", `${nameW}px`);
      this.resizer.style.left = `${nameW - 3}px`;
      setAttr(this.resizer, "aria-valuenow", String(nameW));
      this.pool.forEach((r) => (r.node = null)); // indents depend on the width
    }
    this.pool.render(first, last, (r, i) => this.fillRow(r, this.rows[i] as SpanNode, i, nameW));
  }

  private makeRow(): RowEls {
    const indent = h("span", { class: "wf-indent" });
    const twisty = h("span", { class: "wf-twisty", attrs: { "data-role": "toggle", "aria-hidden": "true" } });
    const icon = h("span", { class: "kind-icon" });
    const name = h("span", { class: "wf-name" });
    const chip = h("span", { class: "dup-chip", testid: "dup-chip" });
    const flag = h("span", { class: "wf-flag" });
    const el = h("div", { class: "wf-row", testid: "waterfall-row", attrs: { role: "treeitem" } }, h("div", { class: "wf-cell" }, indent, twisty, icon, name, chip, flag));
    return { el, indent, twisty, icon, name, chip, flag, node: null, index: -1 };
  }

  private fillRow(r: RowEls, node: SpanNode, index: number, nameW: number): void {
    const s = node.span;
    const selected = s.id === this.selected;
    if (r.index !== index) {
      r.el.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
      r.index = index;
    }
    r.el.classList.toggle("selected", selected);
    setAttr(r.el, "aria-selected", String(selected));
    r.el.classList.toggle("highlighted", !!this.highlight?.has(s.id));
    r.el.classList.toggle("dimmed", !!this.highlight && !this.highlight.has(s.id));
    if (r.node === node) return;
    r.node = node;
    setAttr(r.el, "data-span-id", String(s.id));
    setAttr(r.el, "data-kind", s.kind);
    setAttr(r.el, "data-running", String(s.duration_ns === null));
    setAttr(r.el, "aria-level", String(node.depth + 1));
    const hasKids = node.children.length > 0;
    const collapsed = this.collapsed.has(s.id);
    setAttr(r.el, "aria-expanded", hasKids ? String(!collapsed) : null);
    r.indent.style.width = `${indentPx(node.depth, Math.min(MAX_INDENT_PX, nameW * 0.4))}px`;
    setText(r.twisty, hasKids ? (collapsed ? "▸" : "▾") : "");
    r.twisty.title = hasKids ? `${collapsed ? "Expand" : "Collapse"} (${node.children.length} children)` : "";
    const ks = kindStyle(s.kind);
    r.icon.className = `kind-icon kind-${kindClass(s.kind)}`;
    setText(r.icon, ks.symbol);
    r.icon.title = s.kind;
    setText(r.name, spanLabel(s));
    r.el.title = spanTitle(s);
    const g = this.groupOf.get(s.id);
    const group = g === undefined ? undefined : this.trace?.summary.duplicate_groups[g];
    toggle(r.chip, !!group);
    if (group && g !== undefined) {
      setText(r.chip, `×${group.count}`);
      r.chip.style.setProperty("--chip", `var(${GROUP_COLOR_VARS[g % GROUP_COLOR_VARS.length]})`);
      r.chip.title = `${group.n_plus_one ? "N+1 group" : "Duplicate group"}: ${group.count} × ${group.fingerprint}`;
      r.chip.classList.toggle("n-plus-one", group.n_plus_one);
    }
    const flag = node.orphan ? "orphan" : node.problem && (collapsed || s.kind === "exception" || s.attrs["error"] != null) ? "problem" : "";
    r.flag.className = `wf-flag ${flag}`;
    setText(r.flag, flag === "orphan" ? "⋯" : flag === "problem" ? (collapsed ? "◌" : "●") : "");
    r.flag.title = flag === "orphan" ? `parent span ${s.parent_id ?? ""} missing` : flag === "problem" ? "error in this subtree" : "";
  }

  private color(cssVar: string): string {
    let c = this.colors.get(cssVar);
    if (c === undefined) {
      c = (typeof getComputedStyle !== "undefined" ? getComputedStyle(this.el).getPropertyValue(cssVar).trim() : "") || "#999";
      this.colors.set(cssVar, c);
    }
    return c;
  }

  private drawCanvas(): void {
    const nameW = this.nameWidth();
    const cssW = Math.max(0, this.scroller.clientWidth - nameW);
    const cssH = this.scroller.clientHeight;
    const dpr = typeof devicePixelRatio === "number" && devicePixelRatio > 0 ? devicePixelRatio : 1;
    const c = this.canvas;
    const box = `${nameW},${cssW},${cssH}`;
    if (box !== this.canvasBox) {
      this.canvasBox = box;
      c.style.left = `${nameW}px`;
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
    const width = cssW - 8; // room for a 2 px bar at the very end
    drawBars(ctx, {
      rows: this.rows,
      scrollTop: this.scroller.scrollTop,
      cssW,
      cssH,
      width,
      win: this.window(),
      nowNs: this.nowNs,
      highlight: this.highlight,
      selected: this.selected,
      color: (v) => this.color(v),
    });
  }

  private drawAxis(): void {
    const nameW = this.nameWidth();
    const width = Math.max(0, this.scroller.clientWidth - nameW - 8);
    const ticks = axisTicks(this.window(), width);
    const key = `${nameW}:${ticks.map((t) => `${t.ns}@${t.x.toFixed(1)}`).join(",")}`;
    if (key === this.axisKey) return;
    this.axisKey = key;
    const labels = ticks.map((t) => {
      const el = h("span", { class: "wf-tick", text: formatDuration(t.ns) });
      el.style.left = `${t.x.toFixed(1)}px`;
      return el;
    });
    this.axis.style.left = `${nameW}px`;
    this.axis.replaceChildren(...labels);
  }

  // ---- interaction

  private rowIdAt(target: EventTarget | null): number | null {
    const row = (target as HTMLElement | null)?.closest?.<HTMLElement>("[data-span-id]");
    const id = row ? Number(row.dataset["spanId"]) : NaN;
    return Number.isInteger(id) ? id : null;
  }

  private onClick(ev: MouseEvent): void {
    const id = this.rowIdAt(ev.target);
    if (id === null) return;
    if ((ev.target as HTMLElement).closest("[data-role=toggle]")) this.toggleCollapse(id);
    else this.actions.select(id);
  }

  toggleCollapse(id: number, collapse?: boolean): void {
    const node = this.tree?.byId.get(id);
    if (!node || node.children.length === 0) return;
    const next = collapse ?? !this.collapsed.has(id);
    if (next === this.collapsed.has(id)) return;
    this.collapsed = new Set(this.collapsed);
    if (next) this.collapsed.add(id);
    else this.collapsed.delete(id);
    this.relayout();
  }

  private onWheel(ev: WheelEvent): void {
    if (!this.trace) return;
    const rect = this.scroller.getBoundingClientRect();
    const nameW = this.nameWidth();
    const width = Math.max(1, this.scroller.clientWidth - nameW - 8);
    const x = ev.clientX - rect.left - nameW;
    if (ev.ctrlKey || ev.metaKey) {
      ev.preventDefault();
      const frac = Math.min(1, Math.max(0, x / width));
      this.zoomBy(ev.deltaY > 0 ? 1.2 : 1 / 1.2, frac);
    } else if (this.zoom && (ev.shiftKey || Math.abs(ev.deltaX) > Math.abs(ev.deltaY))) {
      ev.preventDefault();
      const d = ev.shiftKey ? ev.deltaY : ev.deltaX;
      const win = this.window();
      this.zoom = panWindow(win, xToNs(d, { start: 0, end: win.end - win.start }, width), this.axisEnd);
      this.requestDraw(false);
    }
  }

  private onKey(ev: KeyboardEvent): void {
    if (!this.rows.length) return;
    const i = Math.max(0, this.rows.findIndex((n) => n.span.id === this.selected));
    const node = this.rows[i];
    let handled = true;
    switch (ev.key) {
      case "ArrowDown":
        this.selectIndex(this.selected === null ? 0 : i + 1);
        break;
      case "ArrowUp":
        this.selectIndex(i - 1);
        break;
      case "ArrowLeft":
        if (node && node.children.length && !this.collapsed.has(node.span.id)) this.toggleCollapse(node.span.id, true);
        else if (node?.parent) this.selectId(node.parent.span.id);
        break;
      case "ArrowRight":
        if (node && this.collapsed.has(node.span.id)) this.toggleCollapse(node.span.id, false);
        else if (node?.children[0]) this.selectId(node.children[0].span.id);
        break;
      case "Enter":
        if (node) this.toggleCollapse(node.span.id);
        break;
      default:
        handled = false;
    }
    if (handled) {
      ev.preventDefault();
      ev.stopPropagation();
    }
  }

  private selectIndex(i: number): void {
    const n = this.rows[Math.max(0, Math.min(this.rows.length - 1, i))];
    if (n) this.selectId(n.span.id);
  }

  private selectId(id: number): void {
    this.actions.select(id);
    this.scrollToSpan(id);
  }
}
