// Two traces side by side (Jaeger's trace diff, with lifecycle's queries): spans lined up by their path
// from the root, SQL fingerprints grown or gone with the call sites that ran them, and self time per kind.
// Pure: the view is views/compare-view.ts.
//
// A span's path is the kind and name of each span from the root down to it; siblings on the same path
// are one entry with a count (an N+1's twenty queries under one template: one entry, count 20). SQL is
// keyed by its fingerprint (attrs.fp), so parameters do not split a path. Where a parent's children leave
// exactly one unmatched span of a kind on each side (the request span of /books/ and /books/fixed/, their
// two views), those two are lined up as one renamed entry: their children would otherwise all be
// added and removed. SQL is never renamed: another fingerprint is another query.

import { callChain, chainText, templateStackOf, type ChainLine } from "./call-chain";
import { spanLabel } from "./span-label";
import { buildSpanTree, type SpanNode } from "./span-tree";
import { selfTimes, stackOf } from "./summary";
import type { Span, Trace } from "./trace-format";

/** How often something ran on one side, and for how long in all (ns). */
export interface Amount {
  count: number;
  ns: number;
}

export type SpanChange = "added" | "removed" | "more" | "less" | "same";
export type QueryChange = "new" | "gone" | "grown" | "fewer" | "same";

export interface PathStep {
  kind: string;
  /** "GET /books/", "shop/book_list.html", "SELECT … FROM "shop_author" WHERE …". */
  label: string;
  /** A renamed entry's label in the second trace (its first-trace label is `label`); else null. */
  renamed: string | null;
}

export interface SpanRow {
  step: PathStep;
  /** The entry this one is under (null at the root): see pathOf. */
  parent: SpanRow | null;
  depth: number;
  before: Amount;
  after: Amount;
  change: SpanChange;
  /** after.count - before.count. */
  countDelta: number;
  /** Change of the total duration in percent; null when the first trace has none of it (or no time). */
  durationPct: number | null;
}

export interface CallSiteCount {
  count: number;
  /** Template lines, then user frames, innermost first (lib/call-chain.ts). */
  chain: ChainLine[];
  /** The chain on one line, as the replay messages print it ("" when no site was recorded). */
  text: string;
}

export interface QueryRow {
  /** The fingerprint key (attrs.fp), or the statement when a span has none. */
  key: string;
  /** Normalized SQL where a trace's summary has it, else the statement as recorded. */
  text: string;
  before: Amount;
  after: Amount;
  change: QueryChange;
  countDelta: number;
  /** Change of its total time in percent; null unless both traces ran it. */
  durationPct: number | null;
  /** Where each side ran it, most first (at most MAX_SITES). */
  sitesBefore: CallSiteCount[];
  sitesAfter: CallSiteCount[];
}

export interface KindRow {
  kind: string;
  /** ns is the kind's self time (the summary's self_time_ns). */
  before: Amount;
  after: Amount;
}

export interface TraceTotals {
  durationNs: number | null;
  spans: number;
  queries: number;
  nPlusOne: number;
}

export interface TraceComparison {
  /** Every path, changed ones first, the largest change first. */
  spans: SpanRow[];
  /** Every fingerprint, changed ones first, the largest change first. */
  queries: QueryRow[];
  /** Kinds by the larger of the two self times. */
  kinds: KindRow[];
  before: TraceTotals;
  after: TraceTotals;
  /** Why counts may be incomplete (spans dropped by the server or cut by the dashboard). */
  notes: string[];
}

export const MAX_SITES = 5;

// ---- spans by path

interface PathNode {
  key: string;
  kind: string;
  label: string;
  count: number;
  ns: number;
  children: Map<string, PathNode>;
}

function pathKey(span: Span): string {
  if (span.kind === "sql") return `sql\u0000${fpOf(span)}`;
  return `${span.kind}\u0000${span.name}`;
}

function fpOf(span: Span): string {
  const fp = span.attrs["fp"];
  if (typeof fp === "string" && fp) return fp;
  const sql = span.attrs["sql"];
  return typeof sql === "string" ? sql : span.name;
}

function newNode(key: string, kind: string, label: string): PathNode {
  return { key, kind, label, count: 0, ns: 0, children: new Map() };
}

/** The trace's spans merged by path, under one synthetic root (iterative: traces may nest deeply). */
function pathTree(spans: readonly Span[]): PathNode {
  const tree = buildSpanTree(spans);
  const root = newNode("", "", "");
  const stack: [SpanNode, PathNode][] = [];
  for (let i = tree.roots.length - 1; i >= 0; i--) stack.push([tree.roots[i] as SpanNode, root]);
  while (stack.length) {
    const [n, parent] = stack.pop() as [SpanNode, PathNode];
    const key = pathKey(n.span);
    let node = parent.children.get(key);
    if (!node) {
      node = newNode(key, n.span.kind, spanLabel(n.span));
      parent.children.set(key, node);
    }
    node.count++;
    node.ns += n.span.duration_ns ?? 0;
    for (let i = n.children.length - 1; i >= 0; i--) stack.push([n.children[i] as SpanNode, node]);
  }
  return root;
}

/** Children of two matched entries, paired: by key, then a lone leftover of a kind on each side. */
function pairChildren(a: PathNode | null, b: PathNode | null): [PathNode | null, PathNode | null][] {
  const before = a ? [...a.children.values()] : [];
  const after = b ? b.children : new Map<string, PathNode>();
  const pairs: [PathNode | null, PathNode | null][] = [];
  const leftBefore: PathNode[] = [];
  for (const x of before) {
    const y = after.get(x.key);
    if (y) pairs.push([x, y]);
    else leftBefore.push(x);
  }
  const leftAfter = [...after.values()].filter((y) => !a?.children.has(y.key));
  const lone = (list: PathNode[]): Map<string, PathNode | null> => {
    const m = new Map<string, PathNode | null>();
    for (const n of list) m.set(n.kind, m.has(n.kind) ? null : n);
    return m;
  };
  const loneAfter = lone(leftAfter);
  const loneBefore = lone(leftBefore);
  const pairedAfter = new Set<PathNode>();
  for (const x of leftBefore) {
    const y = loneAfter.get(x.kind);
    if (x.kind !== "sql" && y && loneBefore.get(x.kind) === x) {
      pairs.push([x, y]);
      pairedAfter.add(y);
    } else pairs.push([x, null]);
  }
  for (const y of leftAfter) if (!pairedAfter.has(y)) pairs.push([null, y]);
  return pairs;
}

const amount = (n: PathNode | null): Amount => (n ? { count: n.count, ns: n.ns } : { count: 0, ns: 0 });

function pct(before: number, after: number): number | null {
  return before > 0 ? ((after - before) / before) * 100 : null;
}

function spanChange(before: Amount, after: Amount, a: PathNode | null, b: PathNode | null): SpanChange {
  if (!a) return "added";
  if (!b) return "removed";
  return after.count > before.count ? "more" : after.count < before.count ? "less" : "same";
}

function compareSpans(a: readonly Span[], b: readonly Span[]): SpanRow[] {
  const rows: SpanRow[] = [];
  const stack: [PathNode | null, PathNode | null, SpanRow | null][] = [];
  const push = (pairs: [PathNode | null, PathNode | null][], parent: SpanRow | null): void => {
    for (let i = pairs.length - 1; i >= 0; i--) {
      const [x, y] = pairs[i] as [PathNode | null, PathNode | null];
      stack.push([x, y, parent]);
    }
  };
  push(pairChildren(pathTree(a), pathTree(b)), null);
  while (stack.length) {
    const [x, y, parent] = stack.pop() as [PathNode | null, PathNode | null, SpanRow | null];
    const first = (x ?? y) as PathNode;
    const before = amount(x);
    const after = amount(y);
    const row: SpanRow = {
      step: { kind: first.kind, label: first.label, renamed: x && y && x.key !== y.key ? y.label : null },
      parent,
      depth: parent ? parent.depth + 1 : 0,
      before,
      after,
      change: spanChange(before, after, x, y),
      countDelta: after.count - before.count,
      durationPct: x && y ? pct(before.ns, after.ns) : null,
    };
    rows.push(row);
    push(pairChildren(x, y), row);
  }
  return byLargestChange(rows);
}

/**
 * Changed entries first; then the largest count change, then the largest time change. Stable: equal
 * changes keep their order (for spans, the tree's: parents before children).
 */
function byLargestChange<T extends { change: string; countDelta: number; before: Amount; after: Amount }>(rows: T[]): T[] {
  const changed = (r: T): number => (r.change === "same" ? 0 : 1);
  const time = (r: T): number => Math.abs(r.after.ns - r.before.ns);
  return rows
    .map((r, i) => [r, i] as const)
    .sort(([r, i], [s, j]) => changed(s) - changed(r) || Math.abs(s.countDelta) - Math.abs(r.countDelta) || time(s) - time(r) || i - j)
    .map(([r]) => r);
}

// ---- queries by fingerprint

interface QueryGroup {
  text: string;
  count: number;
  ns: number;
  sites: Map<string, CallSiteCount>;
}

/**
 * A call site's identity, read straight from the attributes (a trace can hold 10,000 queries): its
 * template lines' file and line, then its frames, as summary.ts groups sites. The chain is built once a site.
 */
function siteKey(span: Span): string {
  let key = "";
  const ts = span.attrs["template_stack"];
  if (Array.isArray(ts)) {
    for (const e of ts) if (e !== null && typeof e === "object") key += `${String((e as Record<string, unknown>)["file"])}:${String((e as Record<string, unknown>)["line"])}\n`;
  }
  key += "\u0000";
  const st = span.attrs["stack"];
  if (Array.isArray(st)) for (const f of st) if (Array.isArray(f)) key += `${String(f[0])}:${String(f[1])}:${String(f[2])}\n`;
  return key;
}

function queryGroups(trace: Trace, normalized: ReadonlyMap<string, string>): Map<string, QueryGroup> {
  const out = new Map<string, QueryGroup>();
  for (const s of trace.spans) {
    if (s.kind !== "sql") continue;
    const key = fpOf(s);
    let g = out.get(key);
    if (!g) {
      const sql = s.attrs["sql"];
      g = { text: normalized.get(key) ?? (typeof sql === "string" ? sql : s.name), count: 0, ns: 0, sites: new Map() };
      out.set(key, g);
    }
    g.count++;
    g.ns += s.duration_ns ?? 0;
    const k = siteKey(s);
    const site = g.sites.get(k);
    if (site) site.count++;
    else {
      const chain = callChain(templateStackOf(s), stackOf(s));
      g.sites.set(k, { count: 1, chain, text: chainText(chain) });
    }
  }
  return out;
}

function topSites(g: QueryGroup | undefined): CallSiteCount[] {
  return g ? [...g.sites.values()].sort((x, y) => y.count - x.count).slice(0, MAX_SITES) : [];
}

function compareQueries(a: Trace, b: Trace): QueryRow[] {
  // Normalized SQL is in the summaries' groups (of two queries or more): either trace's serves both.
  const normalized = new Map([...b.summary.duplicate_groups, ...a.summary.duplicate_groups].map((g) => [g.fp, g.fingerprint]));
  const before = queryGroups(a, normalized);
  const after = queryGroups(b, normalized);
  const keys = [...before.keys(), ...[...after.keys()].filter((k) => !before.has(k))];
  const rows: QueryRow[] = keys.map((key) => {
    const x = before.get(key);
    const y = after.get(key);
    const bx = { count: x?.count ?? 0, ns: x?.ns ?? 0 };
    const ay = { count: y?.count ?? 0, ns: y?.ns ?? 0 };
    const text = x?.text ?? y?.text ?? key;
    const change: QueryChange = !x ? "new" : !y ? "gone" : ay.count > bx.count ? "grown" : ay.count < bx.count ? "fewer" : "same";
    return { key, text, before: bx, after: ay, change, countDelta: ay.count - bx.count, durationPct: x && y ? pct(bx.ns, ay.ns) : null, sitesBefore: topSites(x), sitesAfter: topSites(y) };
  });
  return byLargestChange(rows);
}

// ---- time per kind

function kindTimes(trace: Trace): { counts: Record<string, number>; self: Record<string, number> } {
  const summary = trace.summary;
  // A dashboard-cut trace keeps the server's summary of all its spans; a file without self times (an
  // older version) gets them computed, as the summary would have them.
  const self = Object.keys(summary.self_time_ns).length ? summary.self_time_ns : selfTimes(trace.spans);
  let counts = summary.counts;
  if (!Object.keys(counts).length) {
    counts = {};
    for (const s of trace.spans) counts[s.kind] = (counts[s.kind] ?? 0) + 1;
  }
  return { counts, self };
}

function compareKinds(a: Trace, b: Trace): KindRow[] {
  const x = kindTimes(a);
  const y = kindTimes(b);
  const kinds = new Set([...Object.keys(x.counts), ...Object.keys(x.self), ...Object.keys(y.counts), ...Object.keys(y.self)]);
  const rows = [...kinds].map((kind) => ({
    kind,
    before: { count: x.counts[kind] ?? 0, ns: x.self[kind] ?? 0 },
    after: { count: y.counts[kind] ?? 0, ns: y.self[kind] ?? 0 },
  }));
  return rows.sort((r, s) => Math.max(s.before.ns, s.after.ns) - Math.max(r.before.ns, r.after.ns) || r.kind.localeCompare(s.kind));
}

// ---- the whole

function totals(t: Trace): TraceTotals {
  const queries = t.summary.queries || t.spans.filter((s) => s.kind === "sql").length;
  return { durationNs: t.duration_ns, spans: t.cut ? t.cut.spans : t.spans.length, queries, nPlusOne: t.summary.n_plus_one };
}

function notesOf(t: Trace, which: string): string[] {
  const out: string[] = [];
  if (t.dropped.spans > 0) out.push(`${which} dropped ${t.dropped.spans} spans when it was recorded (MAX_SPANS): its counts are incomplete`);
  if (t.cut) out.push(`${which} has ${t.cut.spans} spans; the dashboard kept the first ${t.cut.kept}: spans and queries compare those only`);
  if (t.duration_ns === null) out.push(`${which} was still running: it may grow`);
  return out;
}

export function compareTraces(a: Trace, b: Trace): TraceComparison {
  return {
    spans: compareSpans(a.spans, b.spans),
    queries: compareQueries(a, b),
    kinds: compareKinds(a, b),
    before: totals(a),
    after: totals(b),
    notes: [...notesOf(a, "The first trace"), ...notesOf(b, "The second trace")],
  };
}

/** The steps from the root down to a row's own. */
export function pathOf(row: SpanRow): PathStep[] {
  const out: PathStep[] = [];
  for (let r: SpanRow | null = row; r; r = r.parent) out.push(r.step);
  return out.reverse();
}

/** "+3", "−2", "0" (a real minus sign). */
export function signed(n: number): string {
  return n > 0 ? `+${n}` : n < 0 ? `−${-n}` : "0";
}

/** "+42%", "−100%", "" when there is nothing to compare with. */
export function percentText(p: number | null): string {
  if (p === null || !Number.isFinite(p)) return "";
  const r = Math.round(p);
  return r === 0 ? "±0%" : `${signed(r)}%`;
}
