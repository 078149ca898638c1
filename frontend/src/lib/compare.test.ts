/// <reference types="node" />
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compareTraces, pathOf, percentText, signed, type SpanRow } from "./compare";
import { parseTrace } from "./trace-parse";
import { serverGroupsFixture, span, type Mutable } from "./test-helpers";
import type { Trace } from "./trace-format";

const AUTHOR_FP = "a1b2c3d4e5f6";
const BOOK_FP = "0f0e0d0c0b0a";
const JOIN_FP = "f1f2f3f4f5f6";
const JOIN_SQL = 'SELECT "shop_book"."id", "shop_author"."name" FROM "shop_book" INNER JOIN "shop_author" ON ("shop_book"."author_id" = "shop_author"."id") ORDER BY "shop_book"."title" ASC';

/** The N+1 page: /books/ runs one author query per book from shop/book_list.html:21. */
function nPlusOne(): Trace {
  return parseTrace(serverGroupsFixture());
}

/**
 * Its fix, as /books/fixed/ records it: one JOIN instead of the book query and the author queries;
 * `keep` author queries left (a partial fix).
 */
function fixed(keep = 0): Trace {
  const t = serverGroupsFixture();
  const authors = (t["spans"] as Mutable[]).filter((s) => s["kind"] === "sql" && (s["attrs"] as Mutable)["fp"] === AUTHOR_FP);
  const dropped = new Set(authors.slice(keep).map((s) => s["id"]));
  const spans = (t["spans"] as Mutable[]).filter((s) => !dropped.has(s["id"]));
  for (const s of spans) {
    const attrs = s["attrs"] as Mutable;
    if (s["id"] === 0) Object.assign(s, { name: "GET /books/fixed/" });
    if (s["kind"] === "view") Object.assign(s, { name: "shop.views.book_list_fixed", duration_ns: 2_000_000 });
    if (attrs["fp"] === BOOK_FP) Object.assign(s, { name: JOIN_SQL, attrs: { ...attrs, sql: JOIN_SQL, fp: JOIN_FP, params: [] } });
  }
  t["spans"] = spans;
  (t["request"] as Mutable)["path"] = "/books/fixed/";
  const summary = t["summary"] as Mutable;
  Object.assign(summary, {
    queries: 1 + keep,
    counts: { request: 1, middleware: 3, cache: 2, resolve: 1, view: 1, sql: 1 + keep, template: 2 },
    self_time_ns: { request: 1_000_000, middleware: 2_000_000, view: 1_000_000, sql: 150_000, template: 1_500_000 },
    n_plus_one_groups: [],
    n_plus_one: 0,
    similar_groups: [],
  });
  if (keep < 2) summary["duplicate_groups"] = [];
  else (summary["duplicate_groups"] as Mutable[])[0]!["count"] = keep;
  return parseTrace(t);
}

/** A replay recording of the demo (tests/traces/): real traces, as the server wrote them. */
function recording(name: string): Trace {
  return parseTrace(JSON.parse(readFileSync(fileURLToPath(new URL(`../../../tests/traces/${name}.json`, import.meta.url)), "utf-8")));
}

const labels = (r: SpanRow): string[] => pathOf(r).map((s) => s.label);

describe("comparing an N+1 page with its fix", () => {
  it("reports the author fingerprint gone, with the template line that ran it", () => {
    const c = compareTraces(nPlusOne(), fixed());
    const top = c.queries[0]!;
    expect(top).toMatchObject({ key: AUTHOR_FP, change: "gone", countDelta: -20, before: { count: 20, ns: 900_000 }, after: { count: 0, ns: 0 } });
    expect(top.text).toBe('SELECT ... FROM "shop_author" WHERE "shop_author"."id" = ? LIMIT ?');
    expect(top.sitesBefore).toHaveLength(1);
    expect(top.sitesBefore[0]!.count).toBe(20);
    expect(top.sitesBefore[0]!.text.startsWith("shop/book_list.html:21 `{{ book.author.name }}` in shop/book_list.html:18")).toBe(true);
    expect(top.sitesAfter).toEqual([]);
    // The book query replaced by the JOIN.
    expect(c.queries.find((q) => q.key === BOOK_FP)).toMatchObject({ change: "gone", countDelta: -1 });
    expect(c.queries.find((q) => q.key === JOIN_FP)).toMatchObject({ change: "new", countDelta: 1, text: JOIN_SQL });
    expect(c.before).toMatchObject({ queries: 21, nPlusOne: 1 });
    expect(c.after).toMatchObject({ queries: 1, nPlusOne: 0 });
  });

  it("reports the N+1 grown from what the fix left, with its site, in the other direction", () => {
    const c = compareTraces(fixed(2), nPlusOne());
    const top = c.queries[0]!;
    expect(top).toMatchObject({ key: AUTHOR_FP, change: "grown", countDelta: 18, before: { count: 2 }, after: { count: 20 } });
    expect(top.sitesAfter[0]).toMatchObject({ count: 20 });
    expect(top.sitesAfter[0]!.chain[0]).toEqual({ kind: "template", where: "shop/book_list.html:21", what: "{{ book.author.name }}" });
    expect(top.sitesBefore[0]!.count).toBe(2);
    expect(compareTraces(nPlusOne(), fixed(2)).queries[0]).toMatchObject({ key: AUTHOR_FP, change: "fewer", countDelta: -18 });
  });

  it("lines spans up by path: the repeated queries are one removed entry of 20, under the template", () => {
    const c = compareTraces(nPlusOne(), fixed());
    const top = c.spans[0]!;
    expect(top).toMatchObject({ change: "removed", countDelta: -20, before: { count: 20 }, after: { count: 0 }, durationPct: null });
    expect(top.step.kind).toBe("sql");
    expect(labels(top).slice(-2)).toEqual(["shop/book_list.html", `SELECT … FROM "shop_author" WHERE "shop_author"."id" = %s LIMIT 21`]);
    // The request and view spans of /books/ and /books/fixed/ are one renamed entry each, so the
    // template under them is the same one, not removed and added.
    const root = c.spans.find((r) => r.depth === 0)!;
    expect(root.step).toMatchObject({ kind: "request", label: "GET /books/", renamed: "GET /books/fixed/" });
    expect(root.change).toBe("same");
    const view = c.spans.find((r) => r.step.kind === "view")!;
    expect(view.step.renamed).toBe("shop.views.book_list_fixed");
    expect(view.durationPct).toBeCloseTo(((2_000_000 - 9_500_000) / 9_500_000) * 100);
    const template = c.spans.find((r) => r.step.label === "shop/book_list.html")!;
    expect(template.change).toBe("same");
    expect(c.spans.filter((r) => r.change === "added").map((r) => r.step.kind)).toEqual(["sql"]);
    expect(c.spans.filter((r) => r.change === "removed").map((r) => r.countDelta)).toEqual([-20, -1]);
    // Changed entries come first.
    const firstSame = c.spans.findIndex((r) => r.change === "same");
    expect(c.spans.slice(firstSame).every((r) => r.change === "same")).toBe(true);
  });

  it("shows self time per kind before and after, side by side", () => {
    const c = compareTraces(nPlusOne(), fixed());
    const sql = c.kinds.find((k) => k.kind === "sql")!;
    expect(sql).toEqual({ kind: "sql", before: { count: 21, ns: 900_000 }, after: { count: 1, ns: 150_000 } });
    expect(c.kinds[0]!.kind).toBe("template"); // the largest self time on either side first
    expect(c.notes).toEqual([]);
  });

  it("finds nothing changed in a trace compared with itself", () => {
    const c = compareTraces(nPlusOne(), nPlusOne());
    expect(c.spans.every((r) => r.change === "same" && r.countDelta === 0)).toBe(true);
    expect(c.queries.every((q) => q.change === "same")).toBe(true);
  });
});

describe("comparing the demo's recordings of /books/ and /books/fixed/", () => {
  it("finds the author query gone, from the template line, and the tag includes added", () => {
    const c = compareTraces(recording("book_list"), recording("book_list_fixed"));
    const authors = c.queries[0]!;
    expect(authors).toMatchObject({ change: "gone", countDelta: -20 });
    expect(authors.text).toContain('FROM "shop_author"');
    expect(authors.sitesBefore[0]!.chain[0]).toEqual({ kind: "template", where: "shop/book_list.html:21", what: "{{ book.author.name }}" });
    expect(c.queries.filter((q) => q.change === "new")).toHaveLength(2); // the JOIN and the tag prefetch
    const removed = c.spans.find((r) => r.change === "removed" && r.step.kind === "sql" && r.countDelta === -20)!;
    expect(pathOf(removed).map((s) => s.label).slice(-3, -1)).toEqual(["shop/book_list.html", "shop/base.html"]);
    expect(c.spans.find((r) => r.change === "added" && r.step.label === "shop/_tags.html")?.countDelta).toBe(20);
    expect(c.spans.find((r) => r.depth === 0)?.step).toMatchObject({ label: "GET /books/", renamed: "GET /books/fixed/" });
    expect([c.before.queries, c.after.queries]).toEqual([21, 2]);
  });
});

describe("compare edge cases", () => {
  it("keeps several unmatched spans of a kind apart, and never renames a query", () => {
    const a = parseTrace({ ...serverGroupsFixture(), spans: [span(0, null, 0, 10, "request"), span(1, 0, 1, 2, "cache"), span(2, 0, 3, 2, "cache")] });
    const b = parseTrace({ ...serverGroupsFixture(), spans: [span(0, null, 0, 10, "request"), span(3, 0, 1, 2, "cache")] });
    const c = compareTraces(a, b);
    expect(c.spans.map((r) => [r.step.label, r.change])).toEqual([
      ["cache 1", "removed"],
      ["cache 2", "removed"],
      ["cache 3", "added"],
      ["request 0", "same"],
    ]);
  });

  it("handles a deeply nested trace without recursion", () => {
    const deep = Array.from({ length: 3000 }, (_, i) => span(i, i === 0 ? null : i - 1, i, 3000 - i, i === 0 ? "request" : "view"));
    const a = parseTrace({ ...serverGroupsFixture(), spans: deep });
    const b = parseTrace({ ...serverGroupsFixture(), spans: deep.slice(0, 10) });
    const c = compareTraces(a, b);
    expect(c.spans.filter((r) => r.change === "removed")).toHaveLength(2990);
    expect(pathOf(c.spans[0]!)).toHaveLength(11);
  });

  it("notes a trace that lost spans", () => {
    const t = serverGroupsFixture();
    t["dropped"] = { spans: 7, reason: "MAX_SPANS" };
    expect(compareTraces(nPlusOne(), parseTrace(t)).notes).toEqual(["The second trace dropped 7 spans when it was recorded (MAX_SPANS): its counts are incomplete"]);
  });

  it("writes changes with a real minus sign", () => {
    expect([signed(3), signed(-2), signed(0)]).toEqual(["+3", "−2", "0"]);
    expect([percentText(42.4), percentText(-100), percentText(0.2), percentText(null)]).toEqual(["+42%", "−100%", "±0%", ""]);
  });
});
