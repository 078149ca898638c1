import { describe, expect, it } from "vitest";
import { cacheStats, computeSummary, duplicateCount, groupOfSpan, groupsByFp, mergeSpans, partialTrace, selfTimes, withRequestSpan } from "./summary";
import { parseTrace } from "./trace-parse";
import { fixture, row, span } from "./test-helpers";
import type { Span } from "./trace-format";

describe("summaries", () => {
  it("recomputes the fixture's counts and duplicate group in the browser", () => {
    const t = parseTrace(fixture("book-list"));
    const s = computeSummary(t.spans, 200, null);
    expect(s.counts).toEqual(t.summary.counts);
    expect(s.time_ns).toEqual(t.summary.time_ns);
    expect(s.queries).toBe(21);
    expect(s.duplicate_groups).toHaveLength(1);
    expect(s.duplicate_groups[0]?.span_ids).toEqual(t.summary.duplicate_groups[0]?.span_ids);
    expect(s.duplicate_groups[0]?.identical).toBe(20);
    expect(duplicateCount(t.summary)).toBe(20);
    const byFp = groupsByFp(t.summary);
    expect(groupOfSpan(byFp, t.spans.find((x) => x.id === 9) as Span)).toBe(0);
    expect(groupOfSpan(byFp, t.spans.find((x) => x.id === 7) as Span)).toBeUndefined();
    expect(cacheStats(t.spans)).toEqual({ hits: 1, misses: 0, other: 1 });
  });

  it("builds a partial trace for a running request", () => {
    const p = partialTrace(row("r1", { status: null, duration_ns: null }), [span(0, null, 0, null, "request")]);
    expect(p.duration_ns).toBeNull();
    expect(p.summary.counts).toEqual({ request: 1 });
  });

  it("puts back the request span that live events do not carry", () => {
    const r = row("r2", { method: "GET", path: "/slow/", status: null, duration_ns: null });
    const p = partialTrace(r, [span(1, 0, 10, null, "middleware"), span(2, 1, 20, 5, "view")]);
    expect(p.spans.map((s) => s.id)).toEqual([0, 1, 2]);
    expect(p.spans[0]).toMatchObject({ kind: "request", name: "GET /slow/", parent_id: null, duration_ns: null });
    expect(withRequestSpan([span(0, null, 0, 1, "request")], r)).toHaveLength(1);
  });

  it("merges live spans over fetched ones", () => {
    const merged = mergeSpans([span(0, null, 0, null), span(1, 0, 5, 3)], [span(1, 0, 5, null), span(0, null, 0, 100), span(2, 0, 9, null)]);
    expect(merged.map((s) => [s.id, s.duration_ns])).toEqual([
      [0, 100],
      [1, 3],
      [2, null],
    ]);
  });

  it("computes self time per kind: nested middleware never exceeds the request", () => {
    const spans = [
      span(0, null, 0, 100, "request"),
      span(1, 0, 5, 90, "middleware"),
      span(2, 1, 10, 80, "middleware"),
      span(3, 2, 20, 60, "view"),
      span(4, 3, 25, 10, "sql"),
      span(5, 3, 35, 10, "cache"),
      span(6, 3, 40, 10, "cache"), // overlaps the previous one: counted once in the view's children
    ];
    const self = selfTimes(spans);
    expect(self).toEqual({ request: 10, middleware: 30, view: 35, sql: 10, cache: 20 });
    expect(self["view"]! + self["middleware"]! + self["request"]!).toBeLessThanOrEqual(100);
    expect(computeSummary(spans, 200, null).self_time_ns).toEqual(self);
    expect(computeSummary(spans, 200, null).time_ns["middleware"]).toBe(170);
  });

  it("leaves the N+1 verdict to the server: a running trace shows duplicates only", () => {
    const t = parseTrace(fixture("book-list"));
    const s = computeSummary(t.spans, null, null);
    expect(s.duplicate_groups[0]?.count).toBe(20);
    expect(s.duplicate_groups[0]?.n_plus_one).toBe(false);
    expect(s.n_plus_one_groups).toEqual([]);
    expect(s.n_plus_one).toBe(0);
    expect(s.duplicate_groups[0]?.sites.map((c) => c.count)).toEqual([20]);
  });
});
