// The trace view: header, summary chips, N+1 and duplicate groups, and the waterfall.

import { formatDuration, statusClass } from "../lib/format";
import { GROUP_COLOR_VARS, kindStyle } from "../lib/kinds";
import { callChain, chainText, type ChainLine } from "../lib/call-chain";
import { cacheStats, duplicateCount } from "../lib/summary";
import type { Frame, TemplateLine, Trace } from "../lib/trace-format";
import { cutNotice } from "../lib/trace-limits";
import type { OpenTrace } from "../state";
import { h, toggle } from "./dom";
import { Waterfall, type WaterfallActions } from "./waterfall";

/** A group of spans the banners highlight: N+1, duplicate or similar queries. */
export interface SpanGroup {
  span_ids: readonly number[];
}

export interface TraceViewActions extends WaterfallActions {
  highlightGroup(group: SpanGroup, label: string): void;
}

function chip(label: string, value: string, opts: { cls?: string; title?: string; testid?: string } = {}): HTMLElement {
  return h(
    "span",
    { class: `chip ${opts.cls ?? ""}`, title: opts.title ?? "", attrs: opts.testid ? { "data-testid": opts.testid } : {} },
    h("span", { class: "chip-label", text: label }),
    h("span", { class: "chip-value", text: value }),
  );
}

/** The first line of a group's call chain, for its one-line row. */
function siteText(templateStack: readonly TemplateLine[], stack: readonly Frame[]): string {
  const first = callChain(templateStack.slice(0, 1), stack.slice(0, 1))[0];
  return first ? chainText([first]) : "";
}

/** The call chain of an N+1: template lines, then the user's Python frames, innermost first. */
export function renderChain(lines: readonly ChainLine[]): HTMLElement {
  const ol = h("ol", { class: "call-chain", testid: "call-chain" });
  for (const l of lines) {
    ol.appendChild(
      h(
        "li",
        { class: l.kind === "template" ? "chain-template" : "chain-frame", attrs: { "data-kind": l.kind } },
        h("span", { class: "frame-file", text: l.where }),
        " ",
        l.kind === "template" ? h("code", { class: "chain-source", text: l.what }) : h("span", { class: "frame-func", text: l.what }),
      ),
    );
  }
  return ol;
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
      const sm = trace.summary;
      const key = JSON.stringify([sm.counts, sm.self_time_ns, sm.duplicate_groups.map((g) => [g.fp, g.count]), sm.n_plus_one_groups.length, sm.similar_groups.length, trace.duration_ns, sm.status]);
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
    // A websocket consumer's event has no HTTP status: its event stands where the status would.
    const ws = t.kind === "websocket";
    this.head.replaceChildren(
      // A block trace (lifecycle.record()) has no method or path: its root span's kind and name say what it is.
      h("span", { class: `badge method${ws ? " method-ws" : ""}`, text: ws ? "WS" : (t.request.method ?? t.spans[0]?.kind ?? "") }),
      ws
        ? h("span", { class: "badge ws-event", testid: "ws-event", text: t.duration_ns === null ? "running" : (t.request.event ?? "event") })
        : h("span", { class: `badge status status-${statusClass(status)}`, text: status === null ? "running" : String(status) }),
      h("span", { class: "trace-path", text: (t.request.path ?? t.spans[0]?.name ?? "") + (t.request.query ? `?${t.request.query}` : "") }),
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
      chip("SQL", `${s.queries} · ${formatDuration(s.self_time_ns["sql"] ?? 0)}`, { cls: "kind-chip-sql", testid: "chip-sql" }),
      chip("Duplicates", String(dups), { cls: dups ? "warn" : "", testid: "chip-duplicates", title: `${s.duplicate_groups.length} groups` }),
      chip("N+1", String(s.n_plus_one), { cls: s.n_plus_one ? "bad" : "", testid: "chip-n-plus-one" }),
      chip("Templates", String(s.counts["template"] ?? 0), { cls: "kind-chip-template", testid: "chip-templates" }),
      chip("Cache", `${cache.hits} hit · ${cache.misses} miss`, { cls: "kind-chip-cache", testid: "chip-cache", title: cache.other ? `${cache.other} other cache calls (set, delete…)` : "" }),
      t.kind === "websocket"
        ? chip("Websocket", websocketOutcome(t), { testid: "chip-websocket" })
        : chip("Status", status === null ? "running" : String(status), { cls: `status-${statusClass(status)}`, testid: "chip-status" }),
    ];
    const self = Object.entries(s.self_time_ns).filter(([, ns]) => ns > 0).sort((a, b) => b[1] - a[1]);
    if (self.length) {
      chips.push(
        chip("Self time", self.slice(0, 4).map(([k, ns]) => `${kindStyle(k).label} ${formatDuration(ns)}`).join(" · "), {
          testid: "chip-self-time",
          title: `Time per kind, exclusive of child spans (each span's own duration stays on the span):\n${self.map(([k, ns]) => `${k}: ${formatDuration(ns)}`).join("\n")}`,
        }),
      );
    }
    if (s.error) chips.push(chip("Error", s.error, { cls: "bad", testid: "chip-error" }));
    if (t.dropped.spans) chips.push(chip("Dropped spans", String(t.dropped.spans), { cls: "warn", title: t.dropped.reason ?? "" }));
    this.chips.replaceChildren(...chips);
  }

  private groupButton(kind: "n-plus-one" | "duplicate" | "similar", opts: {
    group: SpanGroup; label: string; count: number; text: string; site: string; totalNs: number; color?: string;
    fp?: string; chain?: ChainLine[]; extra?: string;
  }): HTMLElement {
    const swatch = h("span", { class: "group-swatch", attrs: { "aria-hidden": "true" } });
    if (opts.color) swatch.style.setProperty("--chip", opts.color);
    const word = kind === "n-plus-one" ? "N+1:" : kind === "duplicate" ? "Duplicate:" : "Similar:";
    const attrs: Record<string, string> = { type: "button", "data-count": String(opts.count) };
    if (opts.fp) attrs["data-fp"] = opts.fp;
    const el = h(
      "button",
      { class: `group ${kind}`, testid: `${kind}-group`, attrs, title: "Highlight these queries in the waterfall" },
      swatch,
      h("span", { class: "group-kind", text: word }),
      h("span", { class: "group-count", text: `${opts.count} ×` }),
      h("code", { class: "group-sql", text: opts.text }),
      h("span", { class: "group-frame", text: opts.extra ?? opts.site }),
      h("span", { class: "group-time", text: formatDuration(opts.totalNs) }),
    );
    el.addEventListener("click", () => this.actions.highlightGroup(opts.group, opts.label));
    if (!opts.chain || opts.chain.length === 0) return el;
    // The banner: the group's button, then where its queries ran (a list is no button content).
    return h("div", { class: `group-banner ${kind}`, testid: `${kind}-banner` }, el, renderChain(opts.chain));
  }

  private renderGroups(t: Trace): void {
    const s = t.summary;
    const items: HTMLElement[] = [];
    const colorOf = new Map<string, string>();
    s.duplicate_groups.forEach((g, i) => colorOf.set(g.fp, `var(${GROUP_COLOR_VARS[i % GROUP_COLOR_VARS.length]})`));
    // The server's verdict (lifecycle/nplusone.py): one banner per N+1 group, with its call chain. A trace
    // saved before the N+1 groups existed has only the flag on its duplicate groups.
    const banners = s.n_plus_one_groups.length > 0;
    for (const g of s.n_plus_one_groups) {
      const chain = callChain(g.template_stack, g.stack);
      const label = `N+1: ${g.count} × ${g.fingerprint}`;
      items.push(this.groupButton("n-plus-one", {
        group: g, label, count: g.count, text: g.fingerprint, site: chainText(chain.slice(0, 1)), totalNs: g.total_ns,
        color: colorOf.get(g.fp), fp: g.fp, chain, extra: `${g.distinct_params} distinct params`,
      }));
    }
    const inBanners = new Map<string, number>();
    for (const g of s.n_plus_one_groups) inBanners.set(g.fp, (inBanners.get(g.fp) ?? 0) + g.count);
    for (const g of s.duplicate_groups) {
      if ((inBanners.get(g.fp) ?? 0) >= g.count) continue; // every one of its queries is in an N+1 banner
      const flagged = g.n_plus_one && !banners;
      const label = `${flagged ? "N+1" : "Duplicate"}: ${g.count} × ${g.fingerprint}`;
      const sites = g.sites.length > 1 ? `${g.sites.length} call sites: ${g.sites.map((c) => `${c.count}× ${siteText(c.template_stack, c.stack)}`).join(", ")}` : undefined;
      items.push(this.groupButton(flagged ? "n-plus-one" : "duplicate", {
        group: g, label, count: g.count, text: g.fingerprint, site: siteText(g.template_stack, g.stack), totalNs: g.total_ns,
        color: colorOf.get(g.fp), fp: g.fp, chain: flagged ? callChain(g.template_stack, g.stack) : undefined,
        extra: sites ?? (g.identical ? `${g.identical} with identical params · ${siteText(g.template_stack, g.stack)}` : undefined),
      }));
    }
    for (const g of s.similar_groups) {
      const label = `Similar: ${g.count} × ${g.key}`;
      items.push(this.groupButton("similar", {
        group: g, label, count: g.count, text: g.key, site: "", totalNs: g.total_ns,
        extra: `${g.fingerprints} statements`,
      }));
    }
    items.sort((a, b) => Number(b.classList.contains("n-plus-one")) - Number(a.classList.contains("n-plus-one")));
    this.groups.replaceChildren(...items);
    toggle(this.groups, items.length > 0);
  }
}

/** What a websocket consumer's event did: its event, then accepted / refused, the close code, frames sent. */
export function websocketOutcome(t: Trace): string {
  if (t.duration_ns === null) return "running";
  const a = t.spans[0]?.attrs ?? {};
  const parts = [t.request.event ?? "event"];
  if (a["accepted"] === true) parts.push("accepted");
  else if (a["accepted"] === false) parts.push("refused");
  if (typeof a["code"] === "number") parts.push(`code ${a["code"]}`);
  if (typeof a["sent"] === "number") parts.push(`${a["sent"]} sent`);
  return parts.join(" · ");
}
