import { describe, expect, it } from "vitest";
import { fixture, span } from "./test-helpers";
import type { Span, Trace } from "./trace-format";
import { parseTrace } from "./trace-parse";
import { TooLargeError, cutNotice, limitTrace, readLimited, spanDepths, tooLargeMessage } from "./trace-limits";

function chain(n: number): Span[] {
  return Array.from({ length: n }, (_, i) => span(i, i === 0 ? null : i - 1, i, 1));
}

describe("spanDepths", () => {
  it("measures a chain far deeper than the call stack, in any order", () => {
    const spans = chain(200_000).reverse();
    const d = spanDepths(spans);
    expect(d[0]).toBe(199_999);
    expect(d[199_999]).toBe(0);
  });

  it("puts roots, orphans and cycles at depth 0", () => {
    const spans = [span(0, null, 0, 1), span(1, 0, 0, 1), span(2, 99, 0, 1), span(3, 4, 0, 1), span(4, 3, 0, 1), span(5, 5, 0, 1)];
    expect(Array.from(spanDepths(spans))).toEqual([0, 1, 0, 1, 0, 0]);
  });
});

describe("limitTrace", () => {
  const base = (): Trace => parseTrace(fixture("book-list"));

  it("returns the same trace when nothing is cut", () => {
    const t = base();
    expect(limitTrace(t, { maxSpans: 1000, maxDepth: 256 })).toBe(t);
  });

  it("keeps the first maxSpans spans and says so", () => {
    const t = limitTrace({ ...base(), spans: chain(500).map((s) => ({ ...s, parent_id: s.id ? 0 : null })) }, { maxSpans: 100, maxDepth: 256 }, 200_000);
    expect(t.spans).toHaveLength(100);
    expect(t.cut).toEqual({ spans: 200_000, kept: 100, tooDeep: 0, maxDepth: 256 });
    expect(cutNotice(t.cut!)).toEqual(['Showing 100 of 200,000 spans: the dashboard keeps the first 100 (LIFECYCLE["DASHBOARD_MAX_SPANS"]).']);
  });

  it("leaves out spans nested maxDepth levels or deeper", () => {
    const t = limitTrace({ ...base(), spans: chain(10_000) }, { maxSpans: 50_000, maxDepth: 256 });
    expect(t.spans).toHaveLength(256);
    expect(t.spans.at(-1)?.id).toBe(255);
    expect(t.cut?.tooDeep).toBe(10_000 - 256);
    expect(cutNotice(t.cut!)).toEqual(['9,744 spans nested deeper than 256 levels are not shown (LIFECYCLE["DASHBOARD_MAX_DEPTH"]).']);
  });

  it("is applied by parseTrace, which then validates only the kept spans", () => {
    const raw = fixture("book-list");
    const spans = raw["spans"] as unknown[];
    spans.push({ id: "not even a span" });
    const t = parseTrace(raw, "trace", { maxSpans: 10, maxDepth: 256 });
    expect(t.spans).toHaveLength(10);
    expect(t.cut).toMatchObject({ spans: spans.length, kept: 10 });
    expect(() => parseTrace(raw, "trace")).toThrow("trace.spans[31]");
  });
});

describe("readLimited", () => {
  it("refuses by Content-Length before reading", async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        c.enqueue(new Uint8Array(10));
      },
    });
    const res = new Response(body, { headers: { "Content-Length": "5000" } });
    await expect(readLimited(res, 1000, "Trace abc")).rejects.toThrow(
      'Trace abc is too large to open (5 KB, more than the dashboard\'s limit of 1 KB, LIFECYCLE["DASHBOARD_MAX_TRACE_BYTES"]).',
    );
    expect(pulled).toBeLessThanOrEqual(1); // at most what the stream queued up front
  });

  it("counts bytes while reading when there is no Content-Length", async () => {
    const chunks = Array.from({ length: 20 }, () => new TextEncoder().encode("x".repeat(100)));
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        const next = chunks.shift();
        if (next) c.enqueue(next);
        else c.close();
      },
    });
    await expect(readLimited(new Response(body), 1000, "Trace abc")).rejects.toBeInstanceOf(TooLargeError);
    expect(chunks.length).toBeGreaterThan(5); // stopped reading early
    expect(await readLimited(new Response("héllo"), 1000, "x")).toBe("héllo");
  });

  it("names the limit in megabytes", () => {
    expect(tooLargeMessage("big.json", 60_000_000, 50_000_000)).toBe(
      'big.json is too large to open (60 MB, more than the dashboard\'s limit of 50 MB, LIFECYCLE["DASHBOARD_MAX_TRACE_BYTES"]).',
    );
  });
});
