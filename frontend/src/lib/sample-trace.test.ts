import { describe, expect, it } from "vitest";
import { sampleTraceText } from "./sample-trace";
import { KNOWN_KINDS } from "./trace-format";
import { parseTraceText } from "./trace-parse";

describe("sample trace (the warm-up's)", () => {
  const trace = parseTraceText(sampleTraceText(), "sample");

  it("is a valid saved trace", () => {
    expect(trace.id).toMatch(/^[0-9a-z]{16}$/);
    expect(trace.duration_ns).toBeGreaterThan(0);
  });

  it("has a span of every kind, so every row style is shown once", () => {
    expect(new Set(trace.spans.map((s) => s.kind))).toEqual(new Set(KNOWN_KINDS));
  });

  it("has an N+1 group and a plain duplicate, as the groups list and folded rows show them", () => {
    const groups = trace.summary.duplicate_groups;
    expect(groups.filter((g) => g.n_plus_one).map((g) => g.count)).toEqual([8]);
    expect(groups.filter((g) => !g.n_plus_one).map((g) => g.count)).toEqual([2]);
    expect(trace.summary.n_plus_one).toBe(1);
  });
});
