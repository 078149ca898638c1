import { afterEach, describe, expect, it } from "vitest";
import { forgetKinds, kindPaint, kindStyle, learnKinds, parseKinds, UNKNOWN_KIND } from "./kinds";
import { parseServerMessage } from "./trace-parse";

afterEach(() => forgetKinds());

describe("kinds", () => {
  it("draws a kind the server describes with its label, symbol and colour", () => {
    expect(kindStyle("http_out")).toBe(UNKNOWN_KIND);
    learnKinds({ http_out: { label: "HTTP out", symbol: "H", color: "#3366CC" } });
    expect(kindStyle("http_out")).toMatchObject({ label: "HTTP out", symbol: "H", color: "#3366cc" });
    expect(kindPaint("http_out")).toBe("#3366cc");
    // The built-in kinds keep their themed CSS variables; their label and symbol are the server's.
    expect(kindStyle("resolve").label).toBe("URL resolve");
    learnKinds({ resolve: { label: "URL resolution", symbol: "u", color: "#000000" } });
    expect(kindPaint("resolve")).toBe("--kind-resolve");
    expect(kindStyle("resolve")).toMatchObject({ label: "URL resolution", symbol: "u", color: null });
  });

  it("learns the kinds of the hello message", () => {
    const hello = parseServerMessage(
      JSON.stringify({ type: "hello", version: 2, dropped_events: 0, kinds: { job: { label: "job", symbol: "J", color: "#112233" } } }),
    ).message;
    expect(hello?.type === "hello" && hello.kinds).toEqual({ job: { label: "job", symbol: "J", color: "#112233" } });
  });

  it("leaves out descriptions that are not safe to draw", () => {
    const hostile = {
      "<img src=x>": { label: "x", symbol: "X", color: "#112233" },
      css: { label: "css", symbol: "C", color: "red; background: url(https://evil.example/)" },
      two: { label: "two", symbol: "AB", color: "#112233" },
      empty: { label: "", symbol: "E", color: "#112233" },
      long: { label: "x".repeat(41), symbol: "L", color: "#112233" },
      notobj: "#112233",
      ok: { label: "<b>ok</b>", symbol: "✓", color: "#00aa00" },
    };
    expect(Object.keys(parseKinds(hostile))).toEqual(["ok"]);
    expect(parseKinds([1, 2])).toEqual({});
    expect(parseKinds(null)).toEqual({});
    learnKinds(hostile);
    expect(kindStyle("css")).toBe(UNKNOWN_KIND);
    // A label is text: it is shown as such, never parsed as markup (the views use textContent).
    expect(kindStyle("ok").label).toBe("<b>ok</b>");
  });

  it("keeps a bounded number of learned kinds", () => {
    const many: Record<string, unknown> = {};
    for (let i = 0; i < 400; i++) many[`k${i}`] = { label: `k${i}`, symbol: "k", color: "#123456" };
    learnKinds(many);
    expect(kindStyle("k255")).not.toBe(UNKNOWN_KIND);
    expect(kindStyle("k256")).toBe(UNKNOWN_KIND);
  });
});
