import { describe, expect, it } from "vitest";
import { jsonKey, jsonPreview } from "./json-preview";

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe("jsonPreview", () => {
  it("writes shallow values as JSON.stringify does", () => {
    const v = { a: [1, "x", null, true], b: { c: {} }, d: [], e: undefined, n: NaN };
    expect(jsonPreview(v)).toBe(JSON.stringify(v));
    expect(jsonPreview(v, { indent: 1 })).toBe(JSON.stringify(v, null, 1));
  });

  it("cuts 10,000 levels of nesting (which JSON.parse reads) without throwing", () => {
    const v = JSON.parse("[".repeat(10_000) + "]".repeat(10_000)) as unknown;
    expect(() => JSON.stringify(v)).toThrow();
    expect(jsonPreview(v)).toBe("[".repeat(8) + "[…]" + "]".repeat(8));
    expect(jsonPreview(nested(10_000), { maxDepth: 2 })).toBe("[[[…]]]");
  });

  it("cuts long output", () => {
    const out = jsonPreview(Array.from({ length: 10_000 }, (_, i) => i), { maxChars: 100 });
    expect(out.length).toBeLessThanOrEqual(101);
    expect(out.endsWith("…")).toBe(true);
  });

  it("keys deep values without throwing", () => {
    expect(jsonKey([1, 2])).toBe("[1,2]");
    expect(typeof jsonKey(nested(100_000))).toBe("string");
  });
});
