// The trace view: header, summary chips, N+1 and duplicate groups, and the waterfall.

import { formatDuration, statusClass } from "../lib/format";
import { GROUP_COLOR_VARS } from "../lib/kinds";
import { cacheStats, duplicateCount } from "../lib/summary";
import type { DuplicateGroup, Trace } from "../lib/trace-format";
import { cutNotice } from "../lib/trace-limits";
import type { OpenTrace } from "../state";
import { h, toggle } from "./dom";
import { Waterfall, type WaterfallActions } from "./waterfall";

export interface TraceViewActions extends WaterfallActions {
  highlightGroup(group: DuplicateGroup, label: string): void;
}

function chip(label: string, value: string, opts: { cls?: string; title?: string; testid?: string } = {}): HTMLElement {
  return h(
    "span",
    { class: `chip ${opts.cls ?? ""}`, title: opts.title ?? "", attrs: opts.testid ? { "data-testid": opts.testid } : {} },
    h("span", { class: "chip-label", text: label }),
    h("span", { class: "chip-value", text: value }),
  );
}

function frameText(g: DuplicateGroup): string {
  const f = g.stack[0];
  return f ? `${f[0]}:${f[1]} in ${f[2]}` : "";
}

export class TraceView {
  readonly el: HTMLElement;
  readonly waterfall: Waterfall;
  private readonly head: HTMLElement;
  private readonly chips: HTMLElement;
  private readonly groups: HTMLElement;
  private readonly cut: HTMLElement;
  private readonly message: HTMLElement;
  private readonly content: HTMLElement;
  private shownTrace: Trace | null = null;
  private shownSummaryKey = "";

  constructor(private readonly actions: TraceViewActions) {
    this.waterfall = new Waterfall(actions);
    this.head = h("div", { class: "trace-head" });
    this.chips = h("div", { class: "chips", testid: "summary-chips" });
    this.groups = h("div", { class: "groups" });
    this.cut = h("div", { class: "trace-cut", testid: "trace-cut-notice", attrs: { role: "note" } });
    this.cut.hidden = true;
    this.message = h("div", { class: "trace-message", testid: "trace-message" });
    this.content = h("div", { class: "trace-content" }, this.head, this.chips, this.cut, this.groups, this.waterfall.el);
    this.el = h("section", { class: "trace-view", testid: "trace-view" }, this.message, this.content);
    this.showMessage("Select a request to see its trace.");
  }

  showMessage(text: string, kind: "info" | "loading" | "error" = "info"): void {
    this.message.textContent = text;
    this.message.className = `trace-message ${kind}`;
    if (kind === "error") this.message.dataset["testid"] = "trace-error";
    else this.message.dataset["testid"] = "trace-message";
    toggle(this.message, true);
    toggle(this.content, false);
    this.el.dataset["state"] = kind === "info" ? "empty" : kind;
    this.shownTrace = null;
    this.shownSummaryKey = "";
    this.waterfall.clear();
  }

  /** Shows a trace (or the same one grown by live events); `nowNs` places open spans. */
  show(trace: Trace, open: OpenTrace, nowNs: number): void {
    toggle(this.message, false);
    toggle(this.content, true);
    const running = trace.duration_ns === null;
    this.el.dataset["state"] = running ? "running" : "done";
    this.el.dataset["traceId"] = trace.id;
    if (trace !== this.shownTrace) {
      this.shownTrace = trace;
      this.renderHead(trace, open);
      const notice = trace.cut ? cutNotice(trace.cut) : [];
      this.cut.replaceChildren(...notice.map((t) => h("p", { text: t })));
      toggle(this.cut, notice.length > 0);
      const key = JSON.stringify([trace.summary.counts, trace.summary.time_ns, trace.summary.duplicate_groups.map((g) => [g.fp, g.count]), trace.duration_ns, trace.summary.status]);
      if (key !== this.shownSummaryKey) {
        this.shownSummaryKey = key;
        this.renderChips(trace);
        this.renderGroups(trace);
      }
    }
    this.waterfall.setTrace(trace, nowNs);
  }

  /** A running trace: the Total chip counts up. */
  tickRunning(nowNs: number): void {
    const v = this.chips.querySelector<HTMLElement>("[data-testid=chip-total] .chip-value");
    const text = `running · ${formatDuration(nowNs)}`;
    if (v && v.textContent !== text) v.textContent = text;
  }

  private renderHead(t: Trace, open: OpenTrace): void {
    const status = t.response?.status ?? t.summary.status;
    this.head.replaceChildren(
      h("span", { class: "badge method", text: t.request.method }),
      h("span", { class: `badge status status-${statusClass(status)}`, text: status === null ? "running" : String(status) }),
      h("span", { class: "trace-path", text: t.request.path + (t.request.query ? `?${t.request.query}` : "") }),
      h("span", { class: "trace-meta", text: `${t.started_at.replace("T", " ").replace("Z", " UTC")}${open.fileName ? ` · from ${open.fileName}` : ""}` }),
    );
  }

  private renderChips(t: Trace): void {
    const s = t.summary;
    const cache = cacheStats(t.spans);
    const dups = duplicateCount(s);
    const status = t.response?.status ?? s.status;
    const chips = [
      chip("Total", t.duration_ns === null ? "running" : formatDuration(t.duration_ns), { testid: "chip-total" }),
      chip("SQL", `${s.queries} · ${formatDuration(s.time_ns["sql"] ?? 0)}`, { cls: "kind-chip-sql", testid: "chip-sql" }),
      chip("Duplicates", String(dups), { cls: dups ? "warn" : "", testid: "chip-duplicates", title: `${s.duplicate_groups.length} groups` }),
      chip("N+1", String(s.n_plus_one), { cls: s.n_plus_one ? "bad" : "", testid: "chip-n-plus-one" }),
      chip("Templates", String(s.counts["template"] ?? 0), { cls: "kind-chip-template", testid: "chip-templates" }),
      chip("Cache", `${cache.hits} hit · ${cache.misses} miss`, { cls: "kind-chip-cache", testid: "chip-cache", title: cache.other ? `${cache.other} other cache calls (set, delete…)` : "" }),
      chip("Status", status === null ? "running" : String(status), { cls: `status-${statusClass(status)}`, testid: "chip-status" }),
    ];
    if (s.error) chips.push(chip("Error", s.error, { cls: "bad", testid: "chip-error" }));
    if (t.dropped.spans) chips.push(chip("Dropped spans", String(t.dropped.spans), { cls: "warn", title: t.dropped.reason ?? "" }));
    this.chips.replaceChildren(...chips);
  }

  private renderGroups(t: Trace): void {
    const items: HTMLElement[] = [];
    t.summary.duplicate_groups.forEach((g, i) => {
      const color = `var(${GROUP_COLOR_VARS[i % GROUP_COLOR_VARS.length]})`;
      const label = `${g.n_plus_one ? "N+1" : "Duplicate"}: ${g.count} × ${g.fingerprint}`;
      const swatch = h("span", { class: "group-swatch", attrs: { "aria-hidden": "true" } });
      swatch.style.setProperty("--chip", color);
      const el = h(
        "button",
        {
          class: g.n_plus_one ? "group n-plus-one" : "group duplicate",
          testid: g.n_plus_one ? "n-plus-one-group" : "duplicate-group",
          attrs: { type: "button", "data-count": String(g.count), "data-fp": g.fp },
          title: "Highlight these queries in the waterfall",
        },
        swatch,
        h("span", { class: "group-kind", text: g.n_plus_one ? "N+1:" : "Duplicate:" }),
        h("span", { class: "group-count", text: `${g.count} ×` }),
        h("code", { class: "group-sql", text: g.fingerprint }),
        h("span", { class: "group-frame", text: frameText(g) }),
        h("span", { class: "group-time", text: formatDuration(g.total_ns) }),
      );
      el.addEventListener("click", () => this.actions.highlightGroup(g, label));
      items.push(el);
    });
    items.sort((a, b) => Number(b.classList.contains("n-plus-one")) - Number(a.classList.contains("n-plus-one")));
    this.groups.replaceChildren(...items);
    toggle(this.groups, items.length > 0);
  }
}
