// The compare dialog's tables (views/compare-view.ts): one row per fingerprint, span path or kind.
// Every text is set as text.

import { pathOf, percentText, signed, type Amount, type CallSiteCount, type KindRow, type QueryRow, type SpanRow } from "../lib/compare";
import { formatDuration } from "../lib/format";
import { kindClass, kindStyle, paintKindIcon } from "../lib/kinds";
import { h } from "./dom";
import { renderChain } from "./trace-view";

/** Rows of a table shown before "… more": a comparison of two big traces can have thousands of paths. */
export const MAX_ROWS = 300;

function countText(a: Amount, b: Amount): string {
  return `${a.count} → ${b.count}`;
}

function timeText(a: Amount, b: Amount): string {
  return `${a.count ? formatDuration(a.ns) : "–"} → ${b.count ? formatDuration(b.ns) : "–"}`;
}

function changeBadge(change: string, text = change): HTMLElement {
  return h("span", { class: `cmp-change cmp-${change}`, text });
}

function kindIcon(kind: string): HTMLElement {
  const style = kindStyle(kind);
  const icon = h("span", { class: `kind-icon kind-${kindClass(kind)}`, text: style.symbol, title: style.label });
  paintKindIcon(icon, kind);
  return icon;
}

export function table(testid: string, head: string[], rows: HTMLElement[]): HTMLTableElement {
  return h("table", { class: "cmp-table", testid }, h("thead", {}, h("tr", {}, ...head.map((t) => h("th", { text: t, attrs: { scope: "col" } })))), h("tbody", {}, ...rows));
}

function sites(letter: string, list: readonly CallSiteCount[]): HTMLElement | null {
  if (!list.length) return null;
  return h(
    "div",
    { class: "cmp-sites", testid: `compare-sites-${letter.toLowerCase()}` },
    ...list.map((s) =>
      h(
        "div",
        { class: "cmp-site", attrs: { "data-count": String(s.count) } },
        h("span", { class: "cmp-site-head", text: `${letter} ×${s.count}${s.text ? "" : ": issued outside user code (no frame recorded)"}` }),
        s.chain.length ? renderChain(s.chain) : null,
      ),
    ),
  );
}

const QUERY_CHANGE_TEXT: Record<QueryRow["change"], string> = { new: "new", gone: "gone", grown: "grown", fewer: "fewer", same: "same" };

export function queryRow(q: QueryRow): HTMLElement {
  return h(
    "tr",
    { class: `cmp-row cmp-row-${q.change}`, testid: "compare-query", attrs: { "data-change": q.change, "data-key": q.key, "data-delta": String(q.countDelta) } },
    h("td", {}, changeBadge(q.change, QUERY_CHANGE_TEXT[q.change])),
    h("td", { class: "cmp-num" }, h("span", { text: countText(q.before, q.after) }), " ", h("strong", { class: "cmp-delta", text: signed(q.countDelta) })),
    h("td", { class: "cmp-num", text: `${timeText(q.before, q.after)} ${percentText(q.durationPct)}`.trim() }),
    h("td", { class: "cmp-sql" }, h("code", { class: "cmp-sql-text", text: q.text }), sites("A", q.sitesBefore), sites("B", q.sitesAfter)),
  );
}

export function spanRow(r: SpanRow): HTMLElement {
  const path = pathOf(r);
  const step = r.step;
  const above = path.slice(0, -1).map((s) => s.renamed ? `${s.label} → ${s.renamed}` : s.label);
  const name = h("span", { class: "cmp-span-name", text: step.label });
  return h(
    "tr",
    { class: `cmp-row cmp-row-${r.change}`, testid: "compare-span", attrs: { "data-change": r.change, "data-kind": step.kind, "data-delta": String(r.countDelta) } },
    h("td", {}, changeBadge(r.change)),
    h(
      "td",
      { class: "cmp-path", title: [...above, step.label].join("\n› ") },
      above.length ? h("span", { class: "cmp-parent", text: `${above.length > 2 ? "… › " : ""}${above.slice(-2).join(" › ")} ›` }) : null,
      h("span", { class: "cmp-span" }, kindIcon(step.kind), name, step.renamed ? h("span", { class: "cmp-renamed", text: ` → ${step.renamed}` }) : null),
    ),
    h("td", { class: "cmp-num" }, h("span", { text: countText(r.before, r.after) }), " ", h("strong", { class: "cmp-delta", text: signed(r.countDelta) })),
    h("td", { class: "cmp-num", text: `${timeText(r.before, r.after)} ${percentText(r.durationPct)}`.trim() }),
  );
}

export function kindRow(k: KindRow, max: number): HTMLElement {
  const bar = (ns: number, which: string): HTMLElement => {
    const fill = h("span", { class: `cmp-bar-fill cmp-bar-${which} kind-${kindClass(k.kind)}` });
    // CSSOM, not a style attribute (CSP).
    fill.style.width = `${max > 0 ? Math.max(ns > 0 ? 1 : 0, (ns / max) * 100).toFixed(1) : 0}%`;
    paintKindIcon(fill, k.kind);
    return h("span", { class: "cmp-bar" }, fill);
  };
  const pct = k.before.ns > 0 ? percentText(((k.after.ns - k.before.ns) / k.before.ns) * 100) : "";
  return h(
    "tr",
    { testid: "compare-kind", attrs: { "data-kind": k.kind } },
    h("th", { attrs: { scope: "row" } }, kindIcon(k.kind), " ", kindStyle(k.kind).label),
    h("td", { class: "cmp-num cmp-a", testid: "compare-kind-a" }, bar(k.before.ns, "a"), `${formatDuration(k.before.ns)} · ${k.before.count}`),
    h("td", { class: "cmp-num cmp-b", testid: "compare-kind-b" }, bar(k.after.ns, "b"), `${formatDuration(k.after.ns)} · ${k.after.count}`),
    h("td", { class: "cmp-num", text: `${k.after.ns >= k.before.ns ? "+" : "−"}${formatDuration(Math.abs(k.after.ns - k.before.ns))} ${pct}`.trim() }),
  );
}

/** Table rows, the unchanged ones only on request, at most MAX_ROWS. */
export function limited<T extends { change: string }>(rows: readonly T[], showSame: boolean, render: (r: T) => HTMLElement): { shown: HTMLElement[]; more: number; same: number } {
  const same = rows.filter((r) => r.change === "same").length;
  const wanted = showSame ? rows : rows.filter((r) => r.change !== "same");
  return { shown: wanted.slice(0, MAX_ROWS).map(render), more: Math.max(0, wanted.length - MAX_ROWS), same };
}
