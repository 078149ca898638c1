import { describe, expect, it } from "vitest";
import { findSiblingGroups, waterfallRows, type WaterfallRow } from "./autogroup";
import { buildSpanTree } from "./span-tree";
import { span } from "./test-helpers";
import type { Span } from "./trace-format";
import { navigate, type NavState } from "./waterfall-nav";

const q = (id: number, parent: number): Span => ({ ...span(id, parent, id * 10, 5, "sql"), attrs: { fp: "f" } });
// 0 request > 1 view > [2..6 five similar queries], 7 template > 8 leaf
const spans = [span(0, null, 0, 1000), span(1, 0, 1, 900), q(2, 1), q(3, 1), q(4, 1), q(5, 1), q(6, 1), span(7, 1, 80, 10, "template"), span(8, 7, 81, 1)];
const tree = buildSpanTree(spans);
const groups = findSiblingGroups(tree);

function state(collapsed: number[] = [], open: number[] = []): { st: NavState; rows: WaterfallRow[] } {
  const st = { collapsed: new Set(collapsed), openGroups: new Set(open), groups };
  return { st, rows: waterfallRows(tree, st.collapsed, groups, st.openGroups) };
}

describe("waterfall keyboard moves", () => {
  it("moves up and down, clamped", () => {
    const { st, rows } = state();
    expect(navigate("ArrowDown", rows, -1, st)).toEqual({ type: "move", index: 0 });
    expect(navigate("ArrowDown", rows, 1, st)).toEqual({ type: "move", index: 2 });
    expect(navigate("ArrowDown", rows, rows.length - 1, st)).toEqual({ type: "move", index: rows.length - 1 });
    expect(navigate("ArrowUp", rows, 0, st)).toEqual({ type: "move", index: 0 });
    expect(navigate("KeyX", rows, 0, st)).toBe("ignored");
  });

  it("opens and folds a group, and steps out of it", () => {
    let { st, rows } = state();
    expect(rows[2]?.type).toBe("group");
    expect(navigate("ArrowRight", rows, 2, st)).toEqual({ type: "open-group", groupId: 2, open: true });
    expect(navigate("Enter", rows, 2, st)).toEqual({ type: "open-group", groupId: 2, open: true });
    expect(navigate("ArrowLeft", rows, 2, st)).toEqual({ type: "select", spanId: 1 }); // folded: to the parent
    ({ st, rows } = state([], [2]));
    expect(navigate("ArrowRight", rows, 2, st)).toEqual({ type: "move", index: 3 }); // open: into it
    expect(navigate("ArrowLeft", rows, 2, st)).toEqual({ type: "open-group", groupId: 2, open: false });
    expect(navigate("ArrowLeft", rows, 4, st)).toEqual({ type: "move", index: 2 }); // a member: back to its group
  });

  it("collapses and expands spans", () => {
    let { st, rows } = state();
    const t = rows.findIndex((r) => r.type === "span" && r.node.span.id === 7);
    expect(navigate("ArrowLeft", rows, t, st)).toEqual({ type: "collapse", spanId: 7, collapse: true });
    expect(navigate("ArrowRight", rows, t, st)).toEqual({ type: "move", index: t + 1 });
    expect(navigate("ArrowLeft", rows, t + 1, st)).toEqual({ type: "select", spanId: 7 });
    expect(navigate("Enter", rows, t + 1, st)).toBeNull(); // a leaf
    ({ st, rows } = state([7]));
    expect(navigate("ArrowRight", rows, t, st)).toEqual({ type: "collapse", spanId: 7, collapse: false });
    expect(navigate("Enter", rows, t, st)).toEqual({ type: "collapse", spanId: 7, collapse: false });
  });
});
