// Compare two traces: a modal dialog opened on the open trace ("Compare with…"), where the second trace
// is picked from the recent requests or opened from a file (a saved trace, a replay's .actual.json),
// then the differences: queries by fingerprint with their call sites, spans by path, self time per kind.
// The comparison itself is lib/compare.ts. Every text is set as text (data may be hostile).

import "./compare-view.css";
import { compareTraces, percentText, signed, type TraceComparison } from "../lib/compare";
import { formatDuration, plural, statusClass } from "../lib/format";
import type { ListRow, Trace } from "../lib/trace-format";
import { TooLargeError, readLimited, tooLargeMessage, type Limits } from "../lib/trace-limits";
import { FormatError, decodeTraceFile, errorText, parseTraceText } from "../lib/trace-parse";
import { isRunning } from "../lib/trace-store";
import { kindRow, limited, queryRow, spanRow, table } from "./compare-tables";
import { h } from "./dom";

/** A trace to compare and how to name it ("GET /books/ · 200", or the file's name). */
export interface CompareSide {
  trace: Trace;
  /** A file's name; null for a trace of the server. */
  fileName: string | null;
}

export interface CompareDeps {
  apiBase: string;
  fetch: typeof fetch;
  limits: Limits;
  /** The recent requests, newest first. */
  rows(): readonly ListRow[];
  /** A finished trace the dashboard already holds (trace.end brought it), if any. */
  held(id: string): Trace | null;
  /** Also shown in the page's error banner. */
  reportError(text: string): void;
}

const MAX_PICKS = 200;

type Phase = "pick" | "loading" | "done";

function sideTitle(t: Trace, fileName: string | null): string {
  const r = t.request;
  const what = r.method && r.path ? `${r.method} ${r.path}` : (r.block ?? `trace ${t.id}`);
  return fileName ? `${fileName} (${what})` : what;
}

function sideFacts(t: Trace): string {
  const status = t.summary.status ?? t.response?.status ?? null;
  const parts = [status === null ? "" : String(status), t.duration_ns === null ? "running" : formatDuration(t.duration_ns), plural(t.summary.queries, "query", "queries")];
  return parts.filter(Boolean).join(" · ");
}

export class CompareView {
  readonly el: HTMLDialogElement;
  private readonly title: HTMLElement;
  private readonly sideA: HTMLElement;
  private readonly sideB: HTMLElement;
  private readonly picker: HTMLElement;
  private readonly pickFilter: HTMLInputElement;
  private readonly pickList: HTMLElement;
  private readonly fileInput: HTMLInputElement;
  private readonly message: HTMLElement;
  private readonly result: HTMLElement;
  private readonly swapButton: HTMLButtonElement;
  private readonly repickButton: HTMLButtonElement;
  private first: CompareSide | null = null;
  private second: CompareSide | null = null;
  private comparison: TraceComparison | null = null;
  private showSameSpans = false;
  private showSameQueries = false;
  private seq = 0;
  private returnFocus: HTMLElement | null = null;

  constructor(private readonly deps: CompareDeps) {
    this.title = h("h2", { class: "cmp-title", text: "Compare traces", attrs: { id: "compare-title" } });
    this.sideA = h("div", { class: "cmp-side cmp-side-a", testid: "compare-side-a" });
    this.sideB = h("div", { class: "cmp-side cmp-side-b", testid: "compare-side-b" });
    this.swapButton = h("button", { class: "btn btn-small", testid: "compare-swap", text: "Swap", title: "Swap the two traces", attrs: { type: "button" } });
    this.swapButton.addEventListener("click", () => this.swap());
    this.repickButton = h("button", { class: "btn btn-small", testid: "compare-repick", text: "Pick another…", attrs: { type: "button" } });
    this.repickButton.addEventListener("click", () => this.showPicker());
    const close = h("button", { class: "btn btn-small", testid: "compare-close", text: "Close", title: "Close (Esc)", attrs: { type: "button" } });
    close.addEventListener("click", () => this.close());

    this.pickFilter = h("input", { class: "filter cmp-pick-filter", testid: "compare-filter", attrs: { type: "search", placeholder: "Filter by path, method or status", "aria-label": "Filter the requests to compare with", spellcheck: "false", autocomplete: "off" } });
    this.pickFilter.addEventListener("input", () => this.renderPicks());
    this.pickList = h("div", { class: "cmp-picks", testid: "compare-picks", attrs: { role: "group", "aria-label": "Requests to compare with" } });
    this.pickList.addEventListener("keydown", (ev) => this.movePickFocus(ev));
    this.fileInput = h("input", { class: "visually-hidden", testid: "compare-file-input", attrs: { type: "file", accept: ".json,application/json", "aria-label": "Compare with a trace file" } });
    this.fileInput.addEventListener("change", () => {
      const f = this.fileInput.files?.[0];
      if (f) void this.openFile(f);
      this.fileInput.value = "";
    });
    const fileButton = h("label", { class: "btn", title: "A saved trace or a replay's .actual.json (or drop it here)" }, "Open trace file…", this.fileInput);
    this.picker = h(
      "section",
      { class: "cmp-picker", testid: "compare-picker" },
      h("div", { class: "cmp-picker-head" }, h("span", { text: "Compare with a recent request, or a file:" }), fileButton),
      this.pickFilter,
      this.pickList,
    );
    this.message = h("p", { class: "cmp-message", testid: "compare-message", attrs: { role: "alert" } });
    this.message.hidden = true;
    this.result = h("div", { class: "cmp-result", testid: "compare-result" });
    this.el = h(
      "dialog",
      { class: "compare-view", testid: "compare-view", attrs: { "aria-labelledby": "compare-title" } },
      h(
        "header",
        { class: "cmp-head" },
        this.title,
        h("div", { class: "cmp-sides" }, this.sideA, h("span", { class: "cmp-vs", text: "vs" }), this.sideB),
        h("div", { class: "cmp-actions" }, this.swapButton, this.repickButton, close),
      ),
      this.message,
      this.picker,
      this.result,
    );
    // Esc closes; the page's own shortcuts stay out of the dialog.
    this.el.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        ev.preventDefault();
        // In the filter, Esc first clears it.
        if (ev.target === this.pickFilter && this.pickFilter.value) {
          this.pickFilter.value = "";
          this.renderPicks();
        } else this.close();
      }
      ev.stopPropagation();
    });
    this.el.addEventListener("cancel", (ev) => {
      ev.preventDefault();
      this.close();
    });
    this.el.addEventListener("close", () => this.closed());
    this.el.dataset["state"] = "closed";
  }

  get isOpen(): boolean {
    return this.el.dataset["state"] !== "closed";
  }

  /** Opens the dialog on `first`, to pick the trace to compare it with. */
  open(first: CompareSide): void {
    this.first = first;
    this.second = null;
    this.comparison = null;
    this.returnFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!this.el.open) {
      if (typeof this.el.showModal === "function") this.el.showModal();
      else this.el.setAttribute("open", "");
    }
    this.showPicker();
  }

  close(): void {
    if (this.el.open && typeof this.el.close === "function") this.el.close();
    else this.el.removeAttribute("open");
    this.closed();
  }

  private closed(): void {
    if (this.el.dataset["state"] === "closed") return;
    this.seq++;
    this.el.dataset["state"] = "closed";
    this.result.replaceChildren();
    this.pickList.replaceChildren();
    this.comparison = null;
    const back = this.returnFocus;
    this.returnFocus = null;
    if (back && back.isConnected) back.focus();
  }

  /** Compares with a trace of the server (the one it holds, else from the API). */
  async pick(id: string): Promise<void> {
    const seq = ++this.seq;
    const held = this.deps.held(id);
    if (held) {
      this.setSecond({ trace: held, fileName: null });
      return;
    }
    this.setPhase("loading");
    this.showMessage(`Loading trace ${id}…`, false);
    const url = `${this.deps.apiBase}traces/${encodeURIComponent(id)}/`;
    try {
      const res = await this.deps.fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!res.ok) throw new Error(`HTTP ${res.status}${res.status === 404 ? " (the server no longer keeps it)" : ""}`);
      const text = await readLimited(res, this.deps.limits.maxTraceBytes, `Trace ${id}`);
      const trace = parseTraceText(text, `trace ${id}`, this.deps.limits);
      if (seq !== this.seq) return;
      this.setSecond({ trace, fileName: null });
    } catch (e) {
      if (seq !== this.seq) return;
      const error = e instanceof FormatError ? `Could not load ${e.message}` : e instanceof TooLargeError ? e.message : `Could not load trace ${id}: ${errorText(e)}`;
      this.fail(error);
    }
  }

  /** Compares with a trace file, read and validated as "Open trace file" does (with its errors). */
  async openFile(file: File): Promise<void> {
    if (!this.first) return;
    const seq = ++this.seq;
    if (file.size > this.deps.limits.maxTraceBytes) {
      this.fail(tooLargeMessage(file.name, file.size, this.deps.limits.maxTraceBytes));
      return;
    }
    this.setPhase("loading");
    this.showMessage(`Reading ${file.name}…`, false);
    try {
      const text = decodeTraceFile(new Uint8Array(await file.arrayBuffer()), file.name);
      const trace = parseTraceText(text, file.name, this.deps.limits);
      if (seq !== this.seq) return;
      this.setSecond({ trace, fileName: file.name });
    } catch (e) {
      if (seq !== this.seq) return;
      this.fail(e instanceof FormatError ? `Could not open ${e.message}` : `Could not open ${file.name}: ${errorText(e)}`);
    }
  }

  private fail(error: string): void {
    this.deps.reportError(error);
    this.showPicker();
    this.showMessage(error, true);
  }

  private showMessage(text: string, error: boolean): void {
    this.message.textContent = text;
    this.message.classList.toggle("error", error);
    this.message.dataset["testid"] = error ? "compare-error" : "compare-message";
    this.message.hidden = false;
  }

  private setPhase(phase: Phase): void {
    this.el.dataset["state"] = phase;
    this.picker.hidden = phase !== "pick";
    this.result.hidden = phase !== "done";
    this.message.hidden = true;
    this.swapButton.hidden = phase !== "done";
    this.repickButton.hidden = phase !== "done";
    this.renderSides();
  }

  private showPicker(): void {
    this.second = null;
    this.comparison = null;
    this.result.replaceChildren();
    this.setPhase("pick");
    this.pickFilter.value = "";
    this.renderPicks();
    (this.pickList.querySelector<HTMLElement>("button") ?? this.pickFilter).focus();
  }

  private setSecond(second: CompareSide): void {
    this.second = second;
    this.compare();
  }

  private swap(): void {
    if (!this.first || !this.second) return;
    [this.first, this.second] = [this.second, this.first];
    this.compare();
  }

  private compare(): void {
    if (!this.first || !this.second) return;
    this.comparison = compareTraces(this.first.trace, this.second.trace);
    this.setPhase("done");
    this.renderResult();
    this.swapButton.focus();
  }

  private renderSides(): void {
    const side = (el: HTMLElement, letter: string, s: CompareSide | null, empty: string): void => {
      el.replaceChildren(h("span", { class: "cmp-letter", text: letter }));
      if (!s) {
        el.append(h("span", { class: "cmp-side-empty", text: empty }));
        return;
      }
      el.append(h("span", { class: "cmp-side-title", text: sideTitle(s.trace, s.fileName) }), h("span", { class: "cmp-side-facts", text: sideFacts(s.trace) }));
      el.title = `trace ${s.trace.id} · ${s.trace.started_at}`;
    };
    side(this.sideA, "A", this.first, "");
    side(this.sideB, "B", this.second, "pick a request or open a file");
  }

  private renderPicks(): void {
    const firstId = this.first?.fileName === null ? this.first.trace.id : null;
    const words = this.pickFilter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const rows = this.deps.rows().filter((r) => r.id !== firstId && !isRunning(r) && words.every((w) => `${r.method} ${r.path} ${r.status ?? ""}`.toLowerCase().includes(w)));
    const picks = rows.slice(0, MAX_PICKS).map((r) => {
      const b = h(
        "button",
        { class: "cmp-pick", testid: "compare-pick", attrs: { type: "button", "data-trace-id": r.id } },
        h("span", { class: "badge method", text: r.method }),
        h("span", { class: `badge status status-${statusClass(r.status)}`, text: r.status === null ? "" : String(r.status) }),
        h("span", { class: "cmp-pick-path", text: r.path }),
        h("span", { class: "cmp-pick-facts", text: `${formatDuration(r.duration_ns)} · ${plural(r.queries, "query", "queries")} · ${new Date(r.started_at).toLocaleTimeString()}` }),
      );
      b.addEventListener("click", () => void this.pick(r.id));
      return b;
    });
    this.pickList.replaceChildren(...picks);
    if (!picks.length) this.pickList.append(h("p", { class: "cmp-empty", text: words.length ? "No finished request matches." : "No other finished request yet: open a file, or load a page of your site." }));
  }

  /** Up and down move between the requests of the picker. */
  private movePickFocus(ev: KeyboardEvent): void {
    if (ev.key !== "ArrowDown" && ev.key !== "ArrowUp") return;
    const buttons = [...this.pickList.querySelectorAll<HTMLElement>("button")];
    const i = buttons.indexOf(document.activeElement as HTMLElement);
    const next = buttons[Math.max(0, Math.min(buttons.length - 1, i + (ev.key === "ArrowDown" ? 1 : -1)))];
    if (next) {
      ev.preventDefault();
      next.focus();
    }
  }

  private renderResult(): void {
    const c = this.comparison;
    if (!c) return;
    const a = c.before;
    const b = c.after;
    const dur = a.durationNs !== null && b.durationNs !== null ? `${formatDuration(a.durationNs)} → ${formatDuration(b.durationNs)} ${a.durationNs > 0 ? percentText(((b.durationNs - a.durationNs) / a.durationNs) * 100) : ""}`.trim() : "";
    const totals = h(
      "p",
      { class: "cmp-totals", testid: "compare-totals" },
      dur ? `Duration ${dur} · ` : "",
      `Queries ${a.queries} → ${b.queries} (${signed(b.queries - a.queries)}) · Spans ${a.spans} → ${b.spans} · N+1 groups ${a.nPlusOne} → ${b.nPlusOne}`,
    );
    const notes = c.notes.map((n) => h("p", { class: "cmp-note", testid: "compare-note", attrs: { role: "note" }, text: n }));

    const queries = limited(c.queries, this.showSameQueries, queryRow);
    const spans = limited(c.spans, this.showSameSpans, spanRow);
    const maxKind = Math.max(0, ...c.kinds.flatMap((k) => [k.before.ns, k.after.ns]));
    this.result.replaceChildren(
      totals,
      ...notes,
      this.section(
        "Queries by fingerprint",
        "compare-queries-section",
        queries.shown.length ? table("compare-queries", ["", "Count A → B", "Time A → B", "Normalized SQL and where it ran"], queries.shown) : h("p", { class: "cmp-empty", text: c.queries.length ? "The same queries, as often." : "No SQL in either trace." }),
        queries.more ? `${queries.more} more not shown.` : "",
        this.sameToggle("queries", queries.same, `${plural(queries.same, "fingerprint")} run as often`, this.showSameQueries, (on) => (this.showSameQueries = on)),
      ),
      this.section(
        "Spans by path",
        "compare-spans-section",
        spans.shown.length ? table("compare-spans", ["", "Span (path from the request)", "Count A → B", "Time A → B"], spans.shown) : h("p", { class: "cmp-empty", text: "The same spans, as many of each." }),
        spans.more ? `${spans.more} more not shown.` : "",
        this.sameToggle("spans", spans.same, `${plural(spans.same, "path")} with the same count (by time change)`, this.showSameSpans, (on) => (this.showSameSpans = on)),
      ),
      this.section("Self time per kind", "compare-kinds-section", table("compare-kinds", ["Kind", "A", "B", "B − A"], c.kinds.map((k) => kindRow(k, maxKind)))),
    );
  }

  private section(title: string, testid: string, ...body: (HTMLElement | string)[]): HTMLElement {
    return h("section", { class: "cmp-section", testid }, h("h3", { text: title }), ...body.filter((x) => x !== "").map((x) => (typeof x === "string" ? h("p", { class: "cmp-more", text: x }) : x)));
  }

  /** "Show the 14 paths with the same count": the unchanged rows, hidden until asked for. */
  private sameToggle(name: string, count: number, what: string, on: boolean, set: (on: boolean) => void): HTMLElement | string {
    if (!count) return "";
    const testid = `compare-same-${name}`;
    const b = h("button", { class: "btn btn-small cmp-same-toggle", testid, text: `${on ? "Hide" : "Show"} the ${what}`, attrs: { type: "button", "aria-pressed": String(on) } });
    b.addEventListener("click", () => {
      set(!on);
      this.renderResult();
      this.result.querySelector<HTMLElement>(`[data-testid=${testid}]`)?.focus();
    });
    return b;
  }
}
