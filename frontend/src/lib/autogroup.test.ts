import { describe, expect, it } from "vitest";
import { findSiblingGroups, openGroupsFor, rowSpanId, waterfallRows, type WaterfallRow } from "./autogroup";
import { buildSpanTree } from "./span-tree";
import { parseTrace } from "./trace-parse";
import { fixture, span } from "./test-helpers";
import type { Span } from "./trace-format";

const sql = (id: number, parent: number, start: number, fp: string, attrs: Record<string, unknown> = {}): Span => ({
  ...span(id, parent, start, 10, "sql"),
  attrs: { fp, ...attrs },
});

const show = (rows: WaterfallRow[]): string[] => rows.map((r) => (r.type === "group" ? `g${r.group.id}×${r.group.members.length}@${r.depth}` : `${r.node.span.id}@${r.depth}`));

describe("sibling autogrouping", () => {
  it("folds the fixture's N+1 queries into one row", () => {
    const t = parseTrace(fixture("book-list"));
    const tree = buildSpanTree(t.spans);
    const groups = findSiblingGroups(tree);
    expect(groups.list).toHaveLength(1);
    const g = groups.list[0];
    expect(g?.id).toBe(9);
    expect(g?.fp).toBe("a1b2c3d4e5f6");
    expect(g?.members.map((m) => m.span.id)).toEqual(Array.from({ length: 20 }, (_, i) => 9 + i));
    expect(g?.totalNs).toBe(t.spans.filter((s) => s.id >= 9 && s.id <= 28).reduce((a, s) => a + (s.duration_ns ?? 0), 0));
    const closed = waterfallRows(tree, new Set(), groups, new Set());
    expect(closed).toHaveLength(t.spans.length - 19);
    const at = closed.findIndex((r) => r.type === "group");
    expect(closed.slice(at - 1, at + 2).map(rowSpanId)).toEqual([8, 9, 29]);
    expect(closed[at]?.depth).toBe(tree.byId.get(9)?.depth);
    const open = waterfallRows(tree, new Set(), groups, new Set([9]));
    expect(open).toHaveLength(t.spans.length + 1);
    expect(open[at + 1]?.depth).toBe((tree.byId.get(9)?.depth ?? 0) + 1);
    expect(open.slice(at, at + 22).map(rowSpanId)).toEqual([9, ...Array.from({ length: 20 }, (_, i) => 9 + i), 29]);
  });

  it("needs five consecutive siblings with one fingerprint", () => {
    const spans = [span(0, null, 0, 1000)];
    let id = 1;
    for (let i = 0; i < 4; i++) spans.push(sql(id++, 0, id, "aaa")); // 4: too few
    spans.push(span(id++, 0, id, 1, "template")); // breaks the run
    for (let i = 0; i < 5; i++) spans.push(sql(id++, 0, id, "aaa")); // 5: a group
    for (let i = 0; i < 6; i++) spans.push(sql(id++, 0, id, "bbb", i === 3 ? { error: "boom" } : {})); // right after: its own group
    spans.push({ ...sql(id++, 0, id, "ccc"), kind: "cache" }); // fp on another kind: ignored
    const tree = buildSpanTree(spans);
    const groups = findSiblingGroups(tree);
    expect(groups.list.map((g) => [g.id, g.members.length, g.fp, g.error])).toEqual([
      [6, 5, "aaa", false],
      [11, 6, "bbb", true],
    ]);
    expect(show(waterfallRows(tree, new Set(), groups, new Set()))).toEqual(["0@0", "1@1", "2@1", "3@1", "4@1", "5@1", "g6×5@1", "g11×6@1", "17@1"]);
    expect(show(waterfallRows(tree, new Set(), groups, new Set([11])))).toEqual([
      "0@0", "1@1", "2@1", "3@1", "4@1", "5@1", "g6×5@1", "g11×6@1", "11@2", "12@2", "13@2", "14@2", "15@2", "16@2", "17@1",
    ]);
    // a collapsed parent hides its groups
    expect(show(waterfallRows(tree, new Set([0]), groups, new Set([11])))).toEqual(["0@0"]);
  });

  it("groups nested runs and shifts the subtree of an open group", () => {
    const spans = [span(0, null, 0, 1000), span(1, 0, 1, 900, "template")];
    for (let i = 0; i < 5; i++) spans.push(sql(2 + i, 1, 10 + i, "fff"));
    const tree = buildSpanTree(spans);
    const groups = findSiblingGroups(tree);
    expect(show(waterfallRows(tree, new Set(), groups, new Set([2])))).toEqual(["0@0", "1@1", "g2×5@2", "2@3", "3@3", "4@3", "5@3", "6@3"]);
    expect(openGroupsFor(groups, new Set(), [4, 1])).toEqual(new Set([2]));
  });

  it("lays out 10,000 spans quickly", () => {
    const spans = [span(0, null, 0, 1e9)];
    for (let i = 1; i < 10000; i++) spans.push(sql(i, i % 100 === 1 ? 0 : Math.floor((i - 1) / 100) * 100 + 1, i * 100, `fp${Math.floor(i / 7)}`));
    const t0 = performance.now();
    const tree = buildSpanTree(spans);
    const groups = findSiblingGroups(tree);
    const rows = waterfallRows(tree, new Set(), groups, new Set());
    expect(rows.length).toBeGreaterThan(100);
    expect(performance.now() - t0).toBeLessThan(200);
  });
});
