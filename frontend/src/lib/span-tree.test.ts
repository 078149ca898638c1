import { describe, expect, it } from "vitest";
import { ancestorIds, buildSpanTree, revealSpans, treeEndNs, visibleRows } from "./span-tree";
import { parseTrace } from "./trace-parse";
import { fixture, span } from "./test-helpers";

describe("buildSpanTree", () => {
  it("nests the fixture by parent", () => {
    const t = parseTrace(fixture("book-list"));
    const tree = buildSpanTree(t.spans);
    expect(tree.roots.map((n) => n.span.id)).toEqual([0]);
    expect(tree.byId.get(8)?.children.map((c) => c.span.id)).toEqual([...Array.from({ length: 20 }, (_, i) => 9 + i), 29]);
    expect(tree.byId.get(9)?.depth).toBe(6);
    expect(visibleRows(tree, new Set()).map((n) => n.span.id)).toEqual(t.spans.map((s) => s.id));
  });

  it("sorts children by start whatever the input order", () => {
    const tree = buildSpanTree([span(2, 0, 50, 5), span(1, 0, 10, 5), span(0, null, 0, 100)]);
    expect(visibleRows(tree, new Set()).map((n) => n.span.id)).toEqual([0, 1, 2]);
  });

  it("keeps orphans and breaks cycles", () => {
    const tree = buildSpanTree([span(0, null, 0, 100), span(1, 0, 1, 1), span(5, 99, 2, 1), span(6, 7, 3, 1), span(7, 6, 4, 1), span(8, 8, 5, 1)]);
    const rows = visibleRows(tree, new Set());
    expect(rows.map((n) => n.span.id).sort()).toEqual([0, 1, 5, 6, 7, 8]);
    expect(tree.byId.get(5)?.orphan).toBe(true);
    expect(tree.byId.get(8)?.orphan).toBe(true);
    expect(tree.byId.get(6)?.orphan || tree.byId.get(7)?.orphan).toBe(true);
  });

  it("collapses subtrees and reveals ancestors", () => {
    const t = parseTrace(fixture("book-list"));
    const tree = buildSpanTree(t.spans);
    const collapsed = new Set([8]);
    const rows = visibleRows(tree, collapsed);
    expect(rows.some((n) => n.span.id === 9)).toBe(false);
    expect(rows).toHaveLength(31 - 21);
    expect(ancestorIds(tree, 9)).toEqual([8, 6, 4, 2, 1, 0]);
    expect(revealSpans(tree, new Set([0, 8, 30]), [9]).has(30)).toBe(true);
    expect(revealSpans(tree, new Set([0, 8, 30]), [9]).has(8)).toBe(false);
  });

  it("bubbles problems up to the ancestors", () => {
    const t = parseTrace(fixture("order-error"));
    const tree = buildSpanTree(t.spans);
    expect(tree.byId.get(0)?.problem).toBe(true);
    expect(tree.byId.get(3)?.problem).toBe(false);
  });

  it("knows the latest end, open spans ending now", () => {
    const tree = buildSpanTree([span(0, null, 0, 100), span(1, 0, 10, 200), span(2, 0, 50, null)]);
    expect(tree.closedEndNs).toBe(210);
    expect(treeEndNs(tree, 40)).toBe(210);
    expect(treeEndNs(tree, 500)).toBe(500);
    expect(treeEndNs(buildSpanTree([span(0, null, 0, 100), span(1, 0, 300, null)]), 0)).toBe(300);
    expect(treeEndNs(buildSpanTree([span(0, null, 0, 100)]), 999)).toBe(100);
  });

  it("handles very deep nesting without recursion", () => {
    const spans = Array.from({ length: 20000 }, (_, i) => span(i, i === 0 ? null : i - 1, i, 1));
    const tree = buildSpanTree(spans);
    expect(visibleRows(tree, new Set())).toHaveLength(20000);
    expect(tree.byId.get(19999)?.depth).toBe(19999);
  });

  it("builds 10,000 spans quickly", () => {
    const spans = [span(0, null, 0, 1e9)];
    for (let i = 1; i < 10000; i++) spans.push(span(i, i % 10 === 1 ? 0 : Math.floor((i - 1) / 10) * 10 + 1, i * 100, 50));
    const t0 = performance.now();
    const rows = visibleRows(buildSpanTree(spans), new Set());
    expect(rows).toHaveLength(10000);
    expect(performance.now() - t0).toBeLessThan(200);
  });
});
