// Keyboard moves in the waterfall tree, as data: which row the cursor goes to, what opens or folds.
// ↑/↓ move, → expands (or steps into), ← folds (or steps out to the parent or the group), Enter toggles.

import type { SiblingGroups, WaterfallRow } from "./autogroup";

export type NavAction =
  | { type: "move"; index: number }
  | { type: "select"; spanId: number }
  | { type: "collapse"; spanId: number; collapse: boolean }
  | { type: "open-group"; groupId: number; open: boolean };

export interface NavState {
  collapsed: ReadonlySet<number>;
  openGroups: ReadonlySet<number>;
  groups: SiblingGroups;
}

/** What `key` does with the cursor on row `at` (-1: no cursor yet); null when the key is not ours. */
export function navigate(key: string, rows: readonly WaterfallRow[], at: number, st: NavState): NavAction | null | "ignored" {
  if (!rows.length) return null;
  const i = Math.max(0, at);
  const row = rows[i] as WaterfallRow;
  const clamp = (j: number): NavAction => ({ type: "move", index: Math.max(0, Math.min(rows.length - 1, j)) });
  switch (key) {
    case "ArrowDown":
      return clamp(at < 0 ? 0 : i + 1);
    case "ArrowUp":
      return clamp(i - 1);
    case "ArrowLeft": {
      if (row.type === "group") {
        const g = row.group;
        if (st.openGroups.has(g.id)) return { type: "open-group", groupId: g.id, open: false };
        const parent = g.members[0]?.parent;
        return parent ? { type: "select", spanId: parent.span.id } : null;
      }
      const node = row.node;
      if (node.children.length && !st.collapsed.has(node.span.id)) return { type: "collapse", spanId: node.span.id, collapse: true };
      const g = st.groups.bySpan.get(node.span.id);
      if (g && st.openGroups.has(g.id)) {
        const gi = rows.findIndex((r) => r.type === "group" && r.group === g);
        if (gi >= 0) return { type: "move", index: gi };
      }
      return node.parent ? { type: "select", spanId: node.parent.span.id } : null;
    }
    case "ArrowRight":
      if (row.type === "group") return st.openGroups.has(row.group.id) ? clamp(i + 1) : { type: "open-group", groupId: row.group.id, open: true };
      if (st.collapsed.has(row.node.span.id)) return { type: "collapse", spanId: row.node.span.id, collapse: false };
      return row.node.children.length ? clamp(i + 1) : null;
    case "Enter":
      if (row.type === "group") return { type: "open-group", groupId: row.group.id, open: !st.openGroups.has(row.group.id) };
      return row.node.children.length ? { type: "collapse", spanId: row.node.span.id, collapse: !st.collapsed.has(row.node.span.id) } : null;
    default:
      return "ignored";
  }
}
