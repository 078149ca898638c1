// Summaries computed in the browser: for traces still running (the server's summary comes with
// trace.end) and for the chips (cache hits/misses are not in the server summary).

import type { CallSite, DuplicateGroup, Frame, ListRow, Span, Summary, Trace } from "./trace-format";
import { templateStackOf } from "./call-chain";
import { TRACE_FORMAT, TRACE_VERSION } from "./trace-format";
import { jsonKey } from "./json-preview";

export function computeSummary(spans: readonly Span[], status: number | null, error: string | null): Summary {
  const counts: Record<string, number> = {};
  const time: Record<string, number> = {};
  const byFp = new Map<string, Span[]>();
  const selfTime = selfTimes(spans);
  for (const s of spans) {
    counts[s.kind] = (counts[s.kind] ?? 0) + 1;
    time[s.kind] = (time[s.kind] ?? 0) + (s.duration_ns ?? 0);
    const fp = s.attrs["fp"];
    if (s.kind === "sql" && typeof fp === "string") {
      const list = byFp.get(fp);
      if (list) list.push(s);
      else byFp.set(fp, [s]);
    }
  }
  const groups: DuplicateGroup[] = [];
  for (const [fp, list] of byFp) {
    if (list.length < 2) continue;
    const first = list[0] as Span;
    const identical = new Map<string, number>();
    for (const s of list) {
      const k = jsonKey(s.attrs["params"] ?? null);
      identical.set(k, (identical.get(k) ?? 0) + 1);
    }
    let dupParams = 0;
    for (const n of identical.values()) if (n > 1) dupParams += n;
    groups.push({
      fp,
      fingerprint: typeof first.attrs["sql"] === "string" ? first.attrs["sql"] : first.name,
      count: list.length,
      total_ns: list.reduce((a, s) => a + (s.duration_ns ?? 0), 0),
      span_ids: list.map((s) => s.id),
      identical: dupParams,
      // The server decides N+1 (lifecycle/nplusone.py, with the whole request); a running trace only
      // shows duplicates.
      n_plus_one: false,
      stack: stackOf(first),
      template_stack: templateStackOf(first),
      sites: sitesOf(list),
    });
  }
  groups.sort((a, b) => b.count - a.count);
  return {
    counts,
    time_ns: time,
    self_time_ns: selfTime,
    queries: counts["sql"] ?? 0,
    duplicate_groups: groups,
    similar_groups: [],
    n_plus_one_groups: [],
    n_plus_one: 0,
    status,
    error,
  };
}

/**
 * Self time per kind, as lifecycle/summary.py computes it: a span's duration minus the part of it its
 * children cover (overlapping children counted once). Open spans count as 0 long.
 */
export function selfTimes(spans: readonly Span[]): Record<string, number> {
  // id -> [start, end, covered by children, end of the children seen so far]; parents come first.
  const at = new Map<number, [number, number, number, number]>();
  for (const s of spans) {
    const start = s.start_ns;
    const end = start + (s.duration_ns ?? 0);
    at.set(s.id, [start, end, 0, start]);
    const p = s.parent_id === null ? undefined : at.get(s.parent_id);
    if (p) {
      const lo = Math.max(start, p[3], p[0]);
      const hi = Math.min(end, p[1]);
      if (hi > lo) p[2] += hi - lo;
      if (end > p[3]) p[3] = end;
    }
  }
  const out: Record<string, number> = {};
  for (const s of spans) {
    const a = at.get(s.id) as [number, number, number, number];
    out[s.kind] = (out[s.kind] ?? 0) + Math.max(0, a[1] - a[0] - a[2]);
  }
  return out;
}

function sitesOf(list: readonly Span[]): CallSite[] {
  const bySite = new Map<string, CallSite>();
  for (const s of list) {
    const site = { count: 0, template_stack: templateStackOf(s), stack: stackOf(s) };
    const key = JSON.stringify([site.template_stack.map((t) => [t.file, t.line]), site.stack.map((f) => [f[0], f[1]])]);
    const known = bySite.get(key) ?? site;
    known.count++;
    bySite.set(key, known);
  }
  return [...bySite.values()].sort((a, b) => b.count - a.count).slice(0, 10);
}

export function stackOf(span: Span): Frame[] {
  const st = span.attrs["stack"];
  if (!Array.isArray(st)) return [];
  const out: Frame[] = [];
  for (const f of st) {
    if (Array.isArray(f) && typeof f[0] === "string" && typeof f[2] === "string") {
      out.push([f[0], typeof f[1] === "number" ? f[1] : 0, f[2]]);
    }
  }
  return out;
}

export interface CacheStats {
  hits: number;
  misses: number;
  other: number;
}

export function cacheStats(spans: readonly Span[]): CacheStats {
  const st = { hits: 0, misses: 0, other: 0 };
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i] as Span;
    if (s.kind !== "cache") continue;
    const hit = s.attrs["hit"];
    if (hit === true) st.hits++;
    else if (hit === false) st.misses++;
    else st.other++;
  }
  return st;
}

export function duplicateCount(summary: Summary): number {
  return summary.duplicate_groups.reduce((a, g) => a + g.count, 0);
}

/**
 * Fingerprint -> index of its duplicate group (for the colored chips). A group is one fingerprint, so a
 * span's group is found from its `attrs.fp`: no map over every span of a big trace.
 */
export function groupsByFp(summary: Summary): Map<string, number> {
  const m = new Map<string, number>();
  summary.duplicate_groups.forEach((g, i) => {
    if (!m.has(g.fp)) m.set(g.fp, i);
  });
  return m;
}

/** Index of the duplicate group of a span, if it has one. */
export function groupOfSpan(byFp: ReadonlyMap<string, number>, span: Span): number | undefined {
  const fp = span.attrs["fp"];
  return typeof fp === "string" ? byFp.get(fp) : undefined;
}

/**
 * The server creates the request span (id 0) before any listener runs, so live events never carry it:
 * put it back from the row when spans point at it, so the waterfall keeps its root.
 */
export function withRequestSpan(spans: Span[], row: ListRow): Span[] {
  if (spans.length === 0 || spans.some((s) => s.id === 0) || !spans.some((s) => s.parent_id === 0)) return spans;
  const root: Span = {
    id: 0,
    parent_id: null,
    kind: "request",
    name: `${row.method} ${row.path}`,
    start_ns: 0,
    duration_ns: row.duration_ns,
    attrs: { method: row.method, path: row.path },
  };
  return [root, ...spans];
}

/** A Trace assembled from a list row and the spans seen so far, for a request still running. */
export function partialTrace(row: ListRow, live: Span[]): Trace {
  const spans = withRequestSpan(live, row);
  return {
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    id: row.id,
    started_at: row.started_at,
    duration_ns: row.duration_ns,
    request: {
      method: row.method,
      path: row.path,
      query: "",
      headers: {},
      body: null,
      body_omitted: null,
      content_type: "",
      user: null,
      scheme: "",
    },
    response: null,
    resolver: null,
    spans,
    summary: computeSummary(spans, row.status, row.error),
    dropped: { spans: 0, reason: null },
  };
}

/**
 * Spans of a trace fetched while running, updated by the live events seen since: same id -> the
 * live copy wins when it is more complete (closed, or the base copy is still open).
 */
export function mergeSpans(base: readonly Span[], live: readonly Span[]): Span[] {
  if (live.length === 0) return [...base];
  const liveById = new Map(live.map((s) => [s.id, s]));
  const out: Span[] = [];
  for (const s of base) {
    const l = liveById.get(s.id);
    if (l) {
      out.push(s.duration_ns !== null && l.duration_ns === null ? s : l);
      liveById.delete(s.id);
    } else out.push(s);
  }
  for (const l of liveById.values()) out.push(l);
  return out;
}
