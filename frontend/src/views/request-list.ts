// The request list: newest on top, virtualized with a fixed row height and a pool of row elements.
// While the user reads it (the pointer over it, or scrolled away from the top) new rows wait above behind
// "N new ↑" (lib/pending-rows.ts), so the row under the pointer does not move.

import { matches, rowText, type Filter, type KindChoice } from "../lib/filter";
import { formatDuration, formatTimeOfDay, statusClass } from "../lib/format";
import { PendingRows } from "../lib/pending-rows";
import type { TraceEntry } from "../lib/trace-store";
import { isRunning } from "../lib/trace-store";
import { visibleRange } from "../lib/waterfall-layout";
import { h, setAttr, setText, toggle } from "./dom";
import { RowPool } from "./row-pool";

export const LIST_ROW_HEIGHT = 48;

interface RowEls {
  el: HTMLElement;
  method: HTMLElement;
  status: HTMLElement;
  path: HTMLElement;
  query: HTMLElement;
  duration: HTMLElement;
  barFill: HTMLElement;
  queries: HTMLElement;
  nplus1: HTMLElement;
  error: HTMLElement;
  when: HTMLElement;
  user: HTMLElement;
  entry: TraceEntry | null;
  index: number;
}

export class RequestList {
  readonly el: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly count: HTMLElement;
  private readonly newAbove: HTMLButtonElement;
  /** All / Requests / Websocket: shown once the list has a websocket trace, or the filter names a kind. */
  private readonly kindChips: HTMLElement;
  private readonly chipButtons: Map<KindChoice, HTMLButtonElement>;
  private readonly pool: RowPool<RowEls>;
  /** The rows on screen (filtered, newest first); frozen while paused. */
  private shown: readonly TraceEntry[] = [];
  private slowest = 1;
  private selectedId: string | null = null;
  private totalCount = 0;
  /** scrollTop as last read or set: a scroll we made ourselves needs no second render. */
  private top = 0;
  /** Height of the viewport, kept by a ResizeObserver (read when there is none). */
  private viewH = 0;
  /** Rows that arrived while the user was reading the list, not shown yet. */
  private readonly pending = new PendingRows<TraceEntry>();
  private hovering = false;
  /** Of the waiting rows, those the filter lets through ("N new ↑"). */
  private waiting = 0;
  private last: { all: readonly TraceEntry[]; filter: Filter; kind: KindChoice } | null = null;

  constructor(
    private readonly onSelect: (id: string) => void,
    onKind: (choice: KindChoice) => void = () => {},
  ) {
    this.chipButtons = new Map();
    const chips: HTMLButtonElement[] = [];
    for (const [choice, text, title] of [
      ["all", "All", "Requests and websocket events"],
      ["request", "HTTP", "HTTP requests only (kind:request)"],
      ["websocket", "WS", "Websocket consumer events only (kind:websocket)"],
    ] as const) {
      const b = h("button", { class: "kind-chip", testid: `kind-chip-${choice}`, text, title, attrs: { type: "button", "aria-pressed": "false" } });
      b.addEventListener("click", () => onKind(choice));
      this.chipButtons.set(choice, b);
      chips.push(b);
    }
    this.kindChips = h("div", { class: "kind-chips", testid: "kind-chips", attrs: { role: "group", "aria-label": "Show" } }, ...chips);
    this.kindChips.hidden = true;
    this.spacer = h("div", { class: "list-spacer" });
    this.scroller = h("div", { class: "list-scroll", testid: "request-list", attrs: { role: "listbox", tabindex: "0", "aria-label": "Requests" } }, this.spacer);
    this.pool = new RowPool(this.scroller, () => this.makeRow());
    this.scroller.addEventListener("scroll", () => {
      const top = this.scroller.scrollTop;
      if (top === this.top) return;
      this.top = top;
      // Back at the top with the pointer elsewhere (keyboard): the waiting rows come in.
      if (top === 0 && !this.hovering && this.pending.holding) {
        this.redo();
        return;
      }
      this.renderRows();
      this.updateNewAbove();
    });
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver((entries) => {
        const h = entries[0]?.contentRect.height ?? 0;
        if (h === this.viewH) return;
        this.viewH = h;
        this.renderRows();
      }).observe(this.scroller);
    }
    this.scroller.addEventListener("click", (ev) => {
      const row = (ev.target as HTMLElement).closest<HTMLElement>("[data-trace-id]");
      const id = row?.dataset["traceId"];
      if (id) this.onSelect(id);
    });
    this.empty = h("div", { class: "empty", testid: "empty-state" });
    this.count = h("div", { class: "list-count", testid: "request-count" });
    this.newAbove = h("button", { class: "new-above", testid: "new-above", attrs: { type: "button" } });
    this.newAbove.hidden = true;
    this.newAbove.addEventListener("click", () => this.scrollToTop());
    this.el = h("section", { class: "request-list" }, h("div", { class: "list-head" }, this.count, this.newAbove, this.kindChips), this.scroller, this.empty);
    this.el.addEventListener("pointerenter", () => (this.hovering = true));
    this.el.addEventListener("pointerleave", () => {
      this.hovering = false;
      // At the top again, the waiting rows come in now that nothing is under the pointer.
      if (this.pending.holding && this.scroller.scrollTop === 0) this.redo();
    });
  }

  /** Applies the last rows again (the user stopped reading, or released the waiting rows). */
  private redo(): void {
    if (this.last) this.setRows(this.last.all, this.last.filter, this.last.kind);
  }

  /**
   * New data: filter, redraw. At the top with nothing selected the list follows the newest; once the user
   * scrolled or selected, the rows under their eyes stay put; while the pointer is over the list or it is
   * scrolled, arrivals wait behind "N new ↑" (PendingRows).
   */
  setRows(all: readonly TraceEntry[], filter: Filter, kind: KindChoice = "all"): void {
    this.last = { all, filter, kind };
    // Geometry is read once, before any write: no layout forced in the middle of a live update.
    const top = this.scroller.scrollTop;
    const view = this.viewHeight();
    const anchor = top > 0 || this.selectedId !== null ? this.anchorRow(top, view) : null;
    const { shown, waiting } = this.pending.split(all, this.hovering || top > 0);
    this.waiting = filter.terms.length ? waiting.filter((e) => matches(filter, e.row)).length : waiting.length;
    const out: TraceEntry[] = [];
    let slowest = 1;
    let websocket = false;
    for (const e of shown) {
      if (e.row.kind === "websocket") websocket = true;
      if (filter.terms.length && !matches(filter, e.row)) continue;
      out.push(e);
      if (e.row.duration_ns !== null && e.row.duration_ns > slowest) slowest = e.row.duration_ns;
    }
    if (!websocket) websocket = waiting.some((e) => e.row.kind === "websocket");
    this.shown = out;
    this.slowest = slowest;
    toggle(this.kindChips, websocket || kind !== "all");
    for (const [choice, b] of this.chipButtons) {
      b.classList.toggle("on", choice === kind);
      setAttr(b, "aria-pressed", String(choice === kind));
    }
    this.totalCount = all.length;
    let next = top;
    if (anchor !== null) {
      const i = out.findIndex((e) => e.id === anchor.id);
      if (i >= 0) next = i * LIST_ROW_HEIGHT + anchor.offset;
    }
    // Room below the last row when the anchored row needs it (it is among the oldest, e.g. the open trace,
    // pinned while newer ones are evicted): without it the browser would clamp the scroll and move it.
    const content = out.length * LIST_ROW_HEIGHT;
    const pad = anchor !== null ? Math.max(0, next + view - content) : 0;
    this.spacer.style.height = `${content + pad}px`;
    if (next !== top) this.scroller.scrollTop = next;
    this.top = next;
    this.updateNewAbove();
    const filtered = filter.terms.length > 0;
    // For tests and the benchmark (bench/dashboard/): how many rows the list holds, and the newest.
    setAttr(this.count, "data-total", String(all.length));
    setAttr(this.count, "data-newest-id", all[0]?.id ?? "");
    setText(this.count, filtered ? `${out.length} of ${all.length} requests` : `${all.length} request${all.length === 1 ? "" : "s"}`);
    toggle(this.empty, out.length === 0);
    setText(this.empty, all.length === 0 ? "Waiting for requests. Open your site in another tab." : "No requests match the filter.");
    this.renderRows();
  }

  setSelected(id: string | null): void {
    if (id === this.selectedId) return;
    this.selectedId = id;
    this.renderRows();
  }

  get rows(): readonly TraceEntry[] {
    return this.shown;
  }

  get total(): number {
    return this.totalCount;
  }

  /** Id of the row `delta` rows away from the selected one (or the first row). */
  neighbour(delta: number): string | null {
    if (this.shown.length === 0) return null;
    const i = this.shown.findIndex((e) => e.id === this.selectedId);
    const j = i < 0 ? 0 : Math.max(0, Math.min(this.shown.length - 1, i + delta));
    return this.shown[j]?.id ?? null;
  }

  scrollToId(id: string): void {
    const i = this.shown.findIndex((e) => e.id === id);
    if (i < 0) return;
    const top = i * LIST_ROW_HEIGHT;
    const cur = this.scroller.scrollTop;
    const view = this.viewHeight();
    if (top < cur) this.scrollTo(top);
    else if (top + LIST_ROW_HEIGHT > cur + view) this.scrollTo(top + LIST_ROW_HEIGHT - view);
  }

  focus(): void {
    this.scroller.focus();
  }

  /** Back to the newest rows, the waiting ones included (and to following them). */
  scrollToTop(): void {
    if (this.pending.holding) {
      this.pending.release();
      this.redo();
    }
    this.scrollTo(0);
  }

  private scrollTo(top: number): void {
    this.scroller.scrollTop = top;
    this.top = this.scroller.scrollTop;
    this.renderRows();
    this.updateNewAbove();
  }

  private viewHeight(): number {
    if (this.viewH <= 0) this.viewH = this.scroller.clientHeight;
    return this.viewH;
  }

  private updateNewAbove(): void {
    const above = Math.floor(this.top / LIST_ROW_HEIGHT);
    toggle(this.newAbove, above > 0 || this.waiting > 0);
    setText(this.newAbove, this.waiting > 0 ? `${this.waiting} new ↑` : `↑ ${above} newer`);
    setAttr(this.newAbove, "data-waiting", String(this.waiting));
    this.newAbove.title = this.waiting > 0 ? "Requests that arrived while you were reading the list: show them" : "Back to the newest requests";
  }

  /** What to keep in place: the selected row when it is in view, else the first visible one. */
  private anchorRow(top: number, view: number): { id: string; offset: number } | null {
    if (this.selectedId !== null) {
      const j = this.shown.findIndex((e) => e.id === this.selectedId);
      if (j >= 0 && j * LIST_ROW_HEIGHT >= top - LIST_ROW_HEIGHT && j * LIST_ROW_HEIGHT <= top + view) {
        return { id: this.selectedId, offset: top - j * LIST_ROW_HEIGHT };
      }
    }
    const i = Math.floor(top / LIST_ROW_HEIGHT);
    const e = this.shown[i];
    return e ? { id: e.id, offset: top - i * LIST_ROW_HEIGHT } : null;
  }

  private renderRows(): void {
    const view = this.viewHeight() || 800;
    const [first, last] = visibleRange(this.top, view, this.shown.length, LIST_ROW_HEIGHT, 4);
    this.pool.render(first, last, (r, i) => this.fillRow(r, this.shown[i] as TraceEntry, i));
  }

  private makeRow(): RowEls {
    const method = h("span", { class: "badge method" });
    const status = h("span", { class: "badge status" });
    const path = h("span", { class: "row-path" });
    const query = h("span", { class: "row-query" });
    const duration = h("span", { class: "row-duration" });
    const barFill = h("span", { class: "row-bar-fill" });
    const queries = h("span", { class: "row-queries" });
    const nplus1 = h("span", { class: "badge nplus1", text: "N+1", title: "N+1 queries" });
    const error = h("span", { class: "row-error", text: "⚠", title: "error" });
    const when = h("span", { class: "row-when" });
    const user = h("span", { class: "row-user" });
    const el = h(
      "div",
      { class: "request-row", testid: "request-row", attrs: { role: "option" } },
      h("div", { class: "row-line" }, method, status, path, query, when),
      h("div", { class: "row-line row-meta" }, duration, h("span", { class: "row-bar" }, barFill), queries, nplus1, error, user),
    );
    return { el, method, status, path, query, duration, barFill, queries, nplus1, error, when, user, entry: null, index: -1 };
  }

  private fillRow(r: RowEls, e: TraceEntry, index: number): void {
    const selected = e.id === this.selectedId;
    if (r.index !== index) {
      r.el.style.transform = `translateY(${index * LIST_ROW_HEIGHT}px)`;
      r.index = index;
    }
    r.el.classList.toggle("selected", selected);
    setAttr(r.el, "aria-selected", String(selected));
    if (r.entry === e && r.el.dataset["slowest"] === String(this.slowest)) return;
    r.entry = e;
    r.el.dataset["slowest"] = String(this.slowest);
    const row = e.row;
    const running = isRunning(row);
    setAttr(r.el, "data-trace-id", row.id);
    setAttr(r.el, "data-status", row.status === null ? "" : String(row.status));
    setAttr(r.el, "data-queries", String(row.queries));
    setAttr(r.el, "data-running", String(running));
    setAttr(r.el, "data-n-plus-one", String(row.n_plus_one));
    setAttr(r.el, "data-method", row.method);
    setAttr(r.el, "data-path", row.path);
    setAttr(r.el, "data-kind", row.kind);
    const websocket = row.kind === "websocket";
    r.el.classList.toggle("running", running);
    r.el.classList.toggle("websocket", websocket);
    // A websocket event has no HTTP method nor status: "WS", and its event before the path.
    const method = websocket ? "WS" : row.method;
    setText(r.method, method);
    r.method.className = `badge method method-${/^[A-Z]{1,10}$/.test(method) ? method.toLowerCase() : "other"}`;
    setText(r.status, row.status === null ? "…" : String(row.status));
    r.status.className = `badge status status-${statusClass(row.status)}`;
    toggle(r.status, !(websocket && row.status === null && !running));
    const name = rowText(row);
    setText(r.path, name);
    r.path.title = `${websocket ? "websocket " : `${row.method} `}${name}${row.query ? `?${row.query}` : ""}${row.view ? `\n${row.view}` : ""}`;
    setText(r.query, row.query ? `?${row.query}` : "");
    toggle(r.query, row.query !== "");
    setText(r.when, formatTimeOfDay(row.started_at));
    r.when.title = row.started_at;
    setText(r.user, row.user ?? "");
    r.user.title = row.user ? `user ${row.user}` : "";
    toggle(r.user, row.user !== null);
    setText(r.duration, running ? "running" : formatDuration(row.duration_ns));
    r.barFill.style.width = running ? "100%" : `${Math.max(1, ((row.duration_ns ?? 0) / this.slowest) * 100).toFixed(1)}%`;
    setText(r.queries, `${row.queries} q · ${row.duplicates} dup`);
    r.queries.classList.toggle("has-dups", row.duplicates > 0);
    toggle(r.nplus1, row.n_plus_one > 0);
    if (row.n_plus_one > 1) setText(r.nplus1, `N+1 ×${row.n_plus_one}`);
    else setText(r.nplus1, "N+1");
    const err = row.error !== null || (row.status !== null && row.status >= 500);
    toggle(r.error, err);
    r.error.title = row.error ?? `HTTP ${row.status ?? ""}`;
  }
}
