// Sibling autogrouping (Sentry's SiblingAutogroupNode): AUTOGROUP_MIN or more consecutive sibling SQL
// spans with the same fingerprint fold into one row, "SELECT … ×20 · 24 ms", opened on demand. This
// module finds the groups and lays out the waterfall rows (spans and groups) in display order.

import { spanHasProblem, type SpanNode, type SpanTree } from "./span-tree";

export const AUTOGROUP_MIN = 5;

export interface SiblingGroup {
  /** The first member's span id: stable while a running trace grows. */
  id: number;
  fp: string;
  members: SpanNode[];
  /** Sum of the members' durations (open members count as 0). */
  totalNs: number;
  /** A member raised (SQL error): the bar turns red. */
  error: boolean;
}

export interface SiblingGroups {
  list: SiblingGroup[];
  /** span id -> its group, for every member. */
  bySpan: Map<number, SiblingGroup>;
}

export type WaterfallRow = { type: "span"; node: SpanNode; depth: number } | { type: "group"; group: SiblingGroup; depth: number };

function fingerprint(node: SpanNode): string | null {
  const s = node.span;
  const fp = s.attrs["fp"];
  return s.kind === "sql" && typeof fp === "string" && fp !== "" ? fp : null;
}

/** The runs of `min` or more consecutive same-fingerprint SQL siblings, under every parent. */
export function findSiblingGroups(tree: SpanTree, min = AUTOGROUP_MIN): SiblingGroups {
  const list: SiblingGroup[] = [];
  const bySpan = new Map<number, SiblingGroup>();
  const scan = (kids: readonly SpanNode[]): void => {
    let i = 0;
    while (i < kids.length) {
      const fp = fingerprint(kids[i] as SpanNode);
      let j = i + 1;
      if (fp !== null) while (j < kids.length && fingerprint(kids[j] as SpanNode) === fp) j++;
      if (fp !== null && j - i >= min) {
        const members = kids.slice(i, j);
        let totalNs = 0;
        let error = false;
        for (const m of members) {
          totalNs += m.span.duration_ns ?? 0;
          if (m.problem || spanHasProblem(m.span)) error = true;
        }
        const g: SiblingGroup = { id: (members[0] as SpanNode).span.id, fp, members, totalNs, error };
        list.push(g);
        for (const m of members) bySpan.set(m.span.id, g);
      }
      i = j;
    }
  };
  scan(tree.roots);
  for (const node of tree.byId.values()) if (node.children.length >= min) scan(node.children);
  return { list, bySpan };
}

type Item = { node: SpanNode; shift: number } | { group: SiblingGroup; shift: number };

/**
 * Rows in display order (pre-order): descendants of collapsed spans skipped, each group one row, its
 * members (one level deeper) after it only when the group is open.
 */
export function waterfallRows(tree: SpanTree, collapsed: ReadonlySet<number>, groups: SiblingGroups, open: ReadonlySet<number>): WaterfallRow[] {
  const out: WaterfallRow[] = [];
  const stack: Item[] = [];
  const pushChildren = (kids: readonly SpanNode[], shift: number, grouping = groups.list.length > 0): void => {
    // Walk back to front so that the stack pops them in order; a group enters as one item.
    let i = kids.length - 1;
    while (i >= 0) {
      const kid = kids[i] as SpanNode;
      const g = grouping ? groups.bySpan.get(kid.span.id) : undefined;
      if (g && g.members[g.members.length - 1] === kid && kids[i - g.members.length + 1] === g.members[0]) {
        stack.push({ group: g, shift });
        i -= g.members.length;
      } else {
        stack.push({ node: kid, shift });
        i--;
      }
    }
  };
  pushChildren(tree.roots, 0);
  while (stack.length) {
    const item = stack.pop() as Item;
    if ("group" in item) {
      const first = item.group.members[0] as SpanNode;
      out.push({ type: "group", group: item.group, depth: first.depth + item.shift });
      if (open.has(item.group.id)) pushChildren(item.group.members, item.shift + 1, false);
      continue;
    }
    const n = item.node;
    out.push({ type: "span", node: n, depth: n.depth + item.shift });
    if (!collapsed.has(n.span.id) && n.children.length) pushChildren(n.children, item.shift);
  }
  return out;
}

/** Open groups with every group holding one of `ids` opened. */
export function openGroupsFor(groups: SiblingGroups, open: ReadonlySet<number>, ids: Iterable<number>): Set<number> {
  const next = new Set(open);
  for (const id of ids) {
    const g = groups.bySpan.get(id);
    if (g) next.add(g.id);
  }
  return next;
}

/** Span id of a row (the first member for a group). */
export function rowSpanId(row: WaterfallRow): number {
  return row.type === "span" ? row.node.span.id : row.group.id;
}
