// The waterfall: span names in the DOM on the left (virtualized rows of fixed height), bars of the
// visible rows drawn on one canvas on the right, on a shared time axis. Runs of 5+ similar sibling
// queries fold into one row (lib/autogroup.ts); clicking it shows them.

import { learnKinds } from "../lib/kinds";
import { findSiblingGroups, openGroupsFor, waterfallRows, type SiblingGroup, type SiblingGroups, type WaterfallRow } from "../lib/autogroup";
import { buildSpanTree, revealSpans, treeEndNs, type SpanTree } from "../lib/span-tree";
import { navigate } from "../lib/waterfall-nav";
import { groupsByFp } from "../lib/summary";
import type { Span, Trace } from "../lib/trace-format";
import {
  ROW_HEIGHT,
  axisEndNs,
  panWindow,
  spanEndNs,
  visibleRange,
  xToNs,
  zoomWindow,
  type TimeWindow,
} from "../lib/waterfall-layout";
import { ResizableColumn } from "./column-resizer";
import { h, setAttr } from "./dom";
import { RowPool } from "./row-pool";
import { BarCanvas } from "./waterfall-canvas";
import { fillRow, makeRow, type RowContext, type RowEls } from "./waterfall-row";


const NO_GROUPS: SiblingGroups = { list: [], bySpan: new Map() };

type Hit = { kind: "span"; id: number } | { kind: "group"; id: number };

export interface WaterfallActions {
  select(spanId: number): void;
}

export class Waterfall {
  readonly el: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly bars: BarCanvas;
  /** The span name column: ~40% of the waterfall (260-640 px) until its edge is dragged. */
  private readonly names: ResizableColumn;
  private readonly pool: RowPool<RowEls>;

  private trace: Trace | null = null;
  private spansRef: readonly Span[] | null = null;
  private tree: SpanTree | null = null;
  private groups: SiblingGroups = NO_GROUPS;
  private rows: WaterfallRow[] = [];
  private dupOf = new Map<string, number>();
  private collapsed = new Set<number>();
  /** Sibling groups shown open, by id (their first span's). */
  private openGroups = new Set<number>();
  private selected: number | null = null;
  /** The keyboard cursor is on this folded group (a group is not a span: the selection stays). */
  private cursorGroup: number | null = null;
  private highlight: ReadonlySet<number> | null = null;
  private nowNs = 0;
  private axisEnd = 1;
  private zoom: TimeWindow | null = null;
  private drawPending = false;
  private refillAll = false;
  private shownNameWidth = -1;
  /** Viewport size and scroll offset as last measured or set: rendering never reads layout twice. */
  private boxW = 0;
  private boxH = 0;
  private top = 0;
  private resizes: ResizeObserver | null = null;
  private readonly scheme: MediaQueryList | null;

  constructor(private readonly actions: WaterfallActions) {
    this.spacer = h("div", { class: "wf-spacer" });
    this.scroller = h("div", { class: "wf-scroll", testid: "waterfall", attrs: { tabindex: "0", role: "tree", "aria-label": "Spans" } }, this.spacer);
    this.pool = new RowPool(this.scroller, makeRow);
    this.names = new ResizableColumn({
      key: "lifecycle:waterfall-name-width",
      label: "Resize the span name column",
      share: 0.4,
      defaultMinPx: 260,
      defaultMaxPx: 640,
      minPx: 120,
      restMinPx: 80,
      containerPx: () => this.size().w,
      changed: () => this.requestDraw(true),
    });
    this.el = h("div", { class: "waterfall" });
    this.bars = new BarCanvas(this.el);
    this.el.append(
      h("div", { class: "wf-head" }, h("div", { class: "wf-head-name", text: "Span" }), this.bars.axis),
      h("div", { class: "wf-body" }, this.scroller, this.bars.canvas),
      this.names.handle,
    );

    this.scroller.addEventListener("scroll", () => {
      const top = this.scroller.scrollTop;
      if (top === this.top) return;
      this.top = top;
      this.requestDraw(true);
    });
    this.scroller.addEventListener("click", (ev) => this.onClick(ev));
    this.scroller.addEventListener("dblclick", (ev) => {
      const hit = this.hitAt(ev.target);
      if (hit?.kind === "span") this.fitSpan(hit.id);
      else if (hit?.kind === "group") {
        const g = this.groupById(hit.id);
        if (g) this.fitRange(g.members[0]?.span.start_ns ?? 0, this.groupEndNs(g));
      }
    });
    this.scroller.addEventListener("wheel", (ev) => this.onWheel(ev), { passive: false });
    this.scroller.addEventListener("keydown", (ev) => this.onKey(ev));
    if (typeof ResizeObserver !== "undefined") {
      this.resizes = new ResizeObserver((entries) => {
        const box = entries[entries.length - 1]?.contentRect;
        const w = Math.round(box?.width ?? 0);
        const h = Math.round(box?.height ?? 0);
        if (w === this.boxW && h === this.boxH) return;
        // Hidden (0 x 0): measured again when next shown.
        this.boxW = w;
        this.boxH = h;
        if (this.trace && w > 0) this.requestDraw(true);
      });
      this.resizes.observe(this.scroller);
    }
    this.scheme = typeof matchMedia !== "undefined" ? matchMedia("(prefers-color-scheme: dark)") : null;
    this.scheme?.addEventListener?.("change", this.onSchemeChange);
  }

  /** Lets go of the page-wide listeners (a waterfall that is thrown away). */
  dispose(): void {
    this.scheme?.removeEventListener?.("change", this.onSchemeChange);
    this.resizes?.disconnect();
  }

  private readonly onSchemeChange = (): void => this.recolor();

  /** The colors changed (a theme switched): the bars are drawn again in the new ones. */
  recolor(): void {
    this.bars.forgetColors();
    this.requestDraw(false);
  }

  /** Shows `trace` (a new one resets zoom, collapse state and scroll; the same one keeps them). */
  setTrace(trace: Trace, nowNs: number): void {
    const same = this.trace?.id === trace.id;
    if (!same) {
      this.collapsed = new Set();
      this.openGroups = new Set();
      this.zoom = null;
      this.axisEnd = 0;
      if (this.top !== 0) this.scroller.scrollTop = this.top = 0; // a write forces a layout: only if needed
      this.selected = null;
      this.cursorGroup = null;
      this.highlight = null;
    }
    this.trace = trace;
    this.nowNs = nowNs;
    if (trace.spans !== this.spansRef) {
      learnKinds((trace as { kinds?: unknown }).kinds);
      this.spansRef = trace.spans;
      this.tree = buildSpanTree(trace.spans);
      this.groups = findSiblingGroups(this.tree);
      this.dupOf = groupsByFp(trace.summary);
      this.updateAxisEnd();
      this.relayout(); // renders
    } else {
      this.updateAxisEnd();
      this.requestDraw(true);
    }
  }

  clear(): void {
    this.trace = null;
    this.spansRef = null;
    this.tree = null;
    this.groups = NO_GROUPS;
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
    this.cursorGroup = null;
    this.requestDraw(true);
  }

  /** Highlights spans (an N+1 or duplicate group): their ancestors expand, their sibling groups open. */
  setHighlight(ids: ReadonlySet<number> | null): void {
    if (ids === this.highlight) return;
    this.highlight = ids;
    if (ids && ids.size && this.tree) {
      this.reveal(ids);
      const first = this.rows.findIndex((r) => r.type === "span" && ids.has(r.node.span.id));
      if (first >= 0) this.scrollToIndex(first);
    }
    this.requestDraw(true);
  }

  scrollToSpan(id: number): void {
    if (!this.tree) return;
    this.reveal([id]);
    const i = this.indexOfSpan(id);
    if (i >= 0) this.scrollToIndex(i);
  }

  /** Expand all (false: every span and sibling group open) or collapse all below the roots (true). */
  setAllCollapsed(collapse: boolean): void {
    if (!this.tree) return;
    this.collapsed = new Set();
    this.openGroups = collapse ? new Set() : new Set(this.groups.list.map((g) => g.id));
    if (collapse) for (const r of this.tree.roots) for (const c of r.children) if (c.children.length) this.collapsed.add(c.span.id);
    this.relayout();
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
    if (s) this.fitRange(s.start_ns, spanEndNs(s, this.nowNs));
  }

  focus(): void {
    this.scroller.focus();
  }

  get visibleSpanIds(): number[] {
    const out: number[] = [];
    for (const r of this.rows) if (r.type === "span") out.push(r.node.span.id);
    return out;
  }

  /** Opens (true), folds (false) or toggles a sibling group. */
  toggleGroup(id: number, open?: boolean): void {
    const next = open ?? !this.openGroups.has(id);
    if (next === this.openGroups.has(id)) return;
    this.openGroups = new Set(this.openGroups);
    if (next) this.openGroups.add(id);
    else this.openGroups.delete(id);
    this.relayout();
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

  // ---- layout and drawing

  private window(): TimeWindow {
    return this.zoom ?? { start: 0, end: this.axisEnd };
  }

  private fitRange(startNs: number, endNs: number): void {
    const pad = Math.max(1000, (endNs - startNs) * 0.1);
    const start = Math.max(0, startNs - pad);
    this.zoom = { start, end: Math.min(this.axisEnd, Math.max(endNs + pad, start + 1000)) };
    this.requestDraw(false);
  }

  private groupById(id: number): SiblingGroup | undefined {
    const g = this.groups.bySpan.get(id);
    return g && g.id === id ? g : undefined;
  }

  private groupEndNs(g: SiblingGroup): number {
    let end = 0;
    for (const m of g.members) end = Math.max(end, spanEndNs(m.span, this.nowNs));
    return end;
  }

  /** Expands the ancestors of `ids` and opens the sibling groups holding them. */
  private reveal(ids: Iterable<number>): void {
    if (!this.tree) return;
    const list = [...ids];
    const collapsed = revealSpans(this.tree, this.collapsed, list);
    const open = openGroupsFor(this.groups, this.openGroups, list);
    if (collapsed.size === this.collapsed.size && open.size === this.openGroups.size) return;
    this.collapsed = collapsed;
    this.openGroups = open;
    this.relayout();
  }

  /** Row of a span: its own, or its folded group's. */
  private indexOfSpan(id: number): number {
    const g = this.groups.bySpan.get(id);
    for (let i = 0; i < this.rows.length; i++) {
      const r = this.rows[i] as WaterfallRow;
      if (r.type === "span" ? r.node.span.id === id : r.group === g && !this.openGroups.has(r.group.id)) return i;
    }
    return -1;
  }

  private updateAxisEnd(): void {
    const t = this.trace;
    if (!t || !this.tree) return;
    const end = treeEndNs(this.tree, this.nowNs);
    this.axisEnd = axisEndNs(t.duration_ns, t.duration_ns === null ? Math.max(end, this.nowNs) : end, this.axisEnd);
  }

  private relayout(): void {
    this.rows = this.tree ? waterfallRows(this.tree, this.collapsed, this.groups, this.openGroups) : [];
    this.spacer.style.height = `${this.rows.length * ROW_HEIGHT}px`;
    this.refillAll = true; // collapse state or data changed: rows may show other spans now
    this.requestDraw(true);
  }

  private scrollToIndex(i: number): void {
    const top = i * ROW_HEIGHT;
    const view = this.size().h;
    if (top < this.top || top + ROW_HEIGHT > this.top + view) {
      // Clamped here as the browser would, so that nothing needs reading back.
      this.top = Math.round(Math.max(0, Math.min(top - view / 3, this.rows.length * ROW_HEIGHT - view)));
      this.scroller.scrollTop = this.top;
      this.requestDraw(true);
    }
  }

  /** The scroller's client size, measured at most once per resize. */
  private size(): { w: number; h: number } {
    if (this.boxW <= 0) {
      this.boxW = this.scroller.clientWidth;
      this.boxH = this.scroller.clientHeight;
    }
    return { w: this.boxW, h: this.boxH };
  }

  private requestDraw(rows: boolean): void {
    if (rows) this.renderRows();
    if (this.drawPending) return;
    this.drawPending = true;
    const run = (): void => {
      this.drawPending = false;
      this.draw();
    };
    if (typeof requestAnimationFrame !== "undefined") requestAnimationFrame(run);
    else run();
  }

  private nameWidth(): number {
    return this.names.width();
  }

  private renderRows(): void {
    const view = this.size().h || 600;
    const [first, last] = visibleRange(this.top, view, this.rows.length, ROW_HEIGHT, 4);
    if (this.refillAll) {
      this.refillAll = false;
      this.pool.forEach((r) => (r.row = null));
    }
    const nameW = this.nameWidth();
    if (nameW !== this.shownNameWidth) {
      // A custom property on the container restyles every row: write it only when it changes.
      this.shownNameWidth = nameW;
      this.el.style.setProperty("--wf-name-width", `${nameW}px`);
      setAttr(this.names.handle, "aria-valuenow", String(nameW));
      this.pool.forEach((r) => (r.row = null)); // indents depend on the width
    }
    const ctx: RowContext = {
      nameW,
      collapsed: this.collapsed,
      openGroups: this.openGroups,
      dupOf: this.dupOf,
      dupGroups: this.trace?.summary.duplicate_groups ?? [],
      selected: this.selected,
      cursorGroup: this.cursorGroup,
      highlight: this.highlight,
    };
    this.pool.render(first, last, (r, i) => fillRow(r, this.rows[i] as WaterfallRow, i, ctx));
  }

  private draw(): void {
    const nameW = this.nameWidth();
    // The rows were laid out before the waterfall had its size (shown while its stylesheet loaded, say):
    // the name column is wider now, and the rows must follow the bars.
    if (nameW !== this.shownNameWidth) this.renderRows();
    const box = this.size();
    const cssW = Math.max(0, box.w - nameW);
    const width = Math.max(0, cssW - 8); // room for a 2 px bar at the very end
    const win = this.window();
    this.bars.draw(nameW, cssW, box.h, {
      rows: this.rows,
      scrollTop: this.top,
      width,
      win,
      nowNs: this.nowNs,
      highlight: this.highlight,
      selected: this.selected,
      cursorGroup: this.cursorGroup,
      openGroups: this.openGroups,
    });
    this.bars.drawAxis(nameW, width, win);
  }

  // ---- interaction

  private hitAt(target: EventTarget | null): Hit | null {
    const row = (target as HTMLElement | null)?.closest?.<HTMLElement>("[data-span-id], [data-group-id]");
    if (!row) return null;
    const group = row.dataset["groupId"];
    const id = Number(group ?? row.dataset["spanId"]);
    if (!Number.isInteger(id)) return null;
    return group !== undefined ? { kind: "group", id } : { kind: "span", id };
  }

  private onClick(ev: MouseEvent): void {
    const hit = this.hitAt(ev.target);
    if (!hit) return;
    if (hit.kind === "group") {
      this.cursorGroup = hit.id;
      this.toggleGroup(hit.id);
    } else if ((ev.target as HTMLElement).closest("[data-role=toggle]")) this.toggleCollapse(hit.id);
    else this.actions.select(hit.id);
  }

  private onWheel(ev: WheelEvent): void {
    if (!this.trace) return;
    const rect = this.scroller.getBoundingClientRect();
    const nameW = this.nameWidth();
    const width = Math.max(1, this.size().w - nameW - 8);
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

  /** Row under the keyboard cursor: a group it sits on, else the selected span's row (or its group's). */
  private cursorIndex(): number {
    if (this.cursorGroup !== null) {
      const i = this.rows.findIndex((r) => r.type === "group" && r.group.id === this.cursorGroup);
      if (i >= 0) return i;
    }
    return this.selected === null ? -1 : this.indexOfSpan(this.selected);
  }

  private onKey(ev: KeyboardEvent): void {
    const action = navigate(ev.key, this.rows, this.cursorIndex(), { collapsed: this.collapsed, openGroups: this.openGroups, groups: this.groups });
    if (action === "ignored") return;
    ev.preventDefault();
    ev.stopPropagation();
    if (action === null) return;
    switch (action.type) {
      case "move":
        this.moveTo(action.index);
        break;
      case "select":
        this.selectId(action.spanId);
        break;
      case "collapse":
        this.toggleCollapse(action.spanId, action.collapse);
        break;
      case "open-group":
        this.cursorGroup = action.groupId;
        this.toggleGroup(action.groupId, action.open);
        break;
    }
  }

  private moveTo(index: number): void {
    const i = Math.max(0, Math.min(this.rows.length - 1, index));
    const row = this.rows[i];
    if (!row) return;
    if (row.type === "span") {
      this.selectId(row.node.span.id);
      return;
    }
    this.cursorGroup = row.group.id;
    this.scrollToIndex(i);
    this.requestDraw(true);
  }

  private selectId(id: number): void {
    this.cursorGroup = null;
    this.actions.select(id);
    this.scrollToSpan(id);
    this.requestDraw(true);
  }
}
