import { describe, expect, it } from "vitest";
import { TraceStore } from "./trace-store";
import { parseServerMessage, parseTrace } from "./trace-parse";
import type { ParsedMessage } from "./trace-parse";
import { fixture, row, span } from "./test-helpers";

function msg(data: unknown): ParsedMessage {
  const r = parseServerMessage(JSON.stringify(data));
  if (!r.message) throw new Error(r.warnings.join("; "));
  return r.message;
}

const ids = (s: TraceStore) => s.rows().map((e) => e.id);

describe("TraceStore", () => {
  it("fills from the backlog, newest first", () => {
    const s = new TraceStore();
    s.apply(msg({ type: "hello", version: 1, dropped_events: 0 }), 0);
    s.apply(
      msg({
        type: "backlog",
        traces: [
          row("c", { started_at: "2026-11-25T01:40:03.000000Z" }),
          row("b", { started_at: "2026-11-25T01:40:02.000002Z" }),
          row("a", { started_at: "2026-11-25T01:40:02.000001Z" }),
        ],
      }),
      0,
    );
    expect(ids(s)).toEqual(["c", "b", "a"]);
    expect(s.serverVersion).toBe(1);
  });

  it("runs a trace through start, spans and end", () => {
    const s = new TraceStore();
    const full = parseTrace(fixture("book-list"));
    const id = full.id;
    s.apply(msg({ type: "backlog", traces: [row("old1")] }), 0);
    s.apply(
      msg({
        type: "events",
        dropped_events: 0,
        events: [
          { e: "trace.start", trace_id: id, row: row(id, { status: null, duration_ns: null }) },
          { e: "span.start", trace_id: id, span: span(0, null, 0, null, "request") },
          { e: "span.start", trace_id: id, span: span(1, 0, 20_000, null, "middleware") },
        ],
      }),
      10,
    );
    let e = s.get(id);
    expect(ids(s)).toEqual([id, "old1"]);
    expect(e?.row.duration_ns).toBeNull();
    expect(e?.live?.spans().map((x) => x.id)).toEqual([0, 1]);
    expect(e?.live?.nowNs(12)).toBe(20_000 + 2e6);
    const v = s.traceVersion(id);

    s.apply(msg({ type: "events", dropped_events: 0, events: [{ e: "span.end", trace_id: id, span: span(1, 0, 20_000, 500, "middleware") }] }), 20);
    e = s.get(id);
    expect(e?.live?.spans().map((x) => x.duration_ns)).toEqual([null, 500]);
    expect(s.traceVersion(id)).toBeGreaterThan(v);

    s.apply(
      msg({
        type: "events",
        dropped_events: 4,
        events: [{ e: "trace.end", trace_id: id, row: row(id, { status: 200, queries: 21, duplicates: 20, n_plus_one: 1 }), trace: fixture("book-list") }],
      }),
      30,
    );
    e = s.get(id);
    expect(e?.row.status).toBe(200);
    expect(e?.live).toBeNull();
    expect(e?.trace?.spans).toHaveLength(31);
    expect(ids(s)).toEqual([id, "old1"]);
    expect(s.droppedEvents).toBe(4);
  });

  it("ignores spans of unknown traces and late starts of finished ones", () => {
    const s = new TraceStore();
    s.apply(msg({ type: "events", dropped_events: null, events: [{ e: "span.start", trace_id: "zz", span: span(0, null, 0, null) }] }), 0);
    expect(s.size).toBe(0);
    s.apply(msg({ type: "events", events: [{ e: "trace.end", trace_id: "t", row: row("t"), trace: fixture("order-error") }] }), 0);
    s.apply(msg({ type: "events", events: [{ e: "trace.start", trace_id: "t", row: row("t", { duration_ns: null, status: null }) }] }), 0);
    expect(s.get("t")?.row.status).toBe(200);
  });

  it("keeps finished rows when a reconnect backlog still lists them running", () => {
    const s = new TraceStore();
    s.apply(msg({ type: "events", events: [{ e: "trace.end", trace_id: "t", row: row("t"), trace: fixture("order-error") }] }), 0);
    s.apply(msg({ type: "backlog", traces: [row("t", { duration_ns: null, status: null }), row("u")] }), 0);
    expect(s.get("t")?.row.duration_ns).toBe(1_000_000);
    expect(s.get("t")?.trace).not.toBeNull();
    expect(s.size).toBe(2);
  });

  it("evicts the oldest beyond the cap", () => {
    const s = new TraceStore(3);
    const events = ["a", "b", "c", "d", "e"].map((id) => ({ e: "trace.start", trace_id: id, row: row(id, { duration_ns: null }) }));
    s.apply(msg({ type: "events", dropped_events: 0, events }), 0);
    expect(ids(s)).toEqual(["e", "d", "c"]);
    expect(s.get("a")).toBeUndefined();
    s.apply(msg({ type: "backlog", traces: [row("x", { started_at: "2020-01-01T00:00:00Z" })] }), 0);
    expect(s.size).toBe(3);
  });

  it("never evicts the pinned (open) trace", () => {
    const s = new TraceStore(2);
    s.apply(msg({ type: "events", events: [{ e: "trace.start", trace_id: "a", row: row("a", { duration_ns: null }) }] }), 0);
    s.pin("a");
    const events = ["b", "c", "d"].map((id) => ({ e: "trace.start", trace_id: id, row: row(id, { duration_ns: null }) }));
    s.apply(msg({ type: "events", events }), 0);
    expect(ids(s)).toEqual(["d", "a"]);
    s.pin(null);
    s.apply(msg({ type: "events", events: [{ e: "trace.start", trace_id: "e", row: row("e", { duration_ns: null }) }] }), 0);
    expect(ids(s)).toEqual(["e", "d"]);
  });

  it("bumps the list version on changes and reuses the row array otherwise", () => {
    const s = new TraceStore();
    const v0 = s.listVersion;
    s.apply(msg({ type: "events", events: [{ e: "trace.start", trace_id: "a", row: row("a", { duration_ns: null }) }] }), 0);
    expect(s.listVersion).toBeGreaterThan(v0);
    const r1 = s.rows();
    s.apply(msg({ type: "events", events: [{ e: "span.start", trace_id: "a", span: span(0, null, 0, null) }] }), 0);
    expect(s.rows()).toBe(r1);
  });

  it("keeps up with 500 traces a second", () => {
    const s = new TraceStore(500);
    const t0 = performance.now();
    for (let i = 0; i < 5000; i++) {
      const id = `t${i}`;
      s.applyEvent({ e: "trace.start", trace_id: id, row: row(id, { duration_ns: null }) }, i);
      s.applyEvent({ e: "span.start", trace_id: id, span: span(0, null, 0, null) }, i);
      s.applyEvent({ e: "trace.end", trace_id: id, row: row(id), trace: null }, i);
      if (i % 8 === 0) s.rows();
    }
    expect(s.size).toBe(500);
    expect(performance.now() - t0).toBeLessThan(500);
  });
});
