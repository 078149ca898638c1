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
  if (s.kind !== "sql") return null;
  const fp = s.attrs["fp"];
  return typeof fp === "string" && fp !== "" ? fp : null;
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
  if (tree.roots.length >= min) scan(tree.roots);
  const nodes = tree.nodes;
  for (let i = 0; i < nodes.length; i++) {
    const kids = (nodes[i] as SpanNode).children;
    if (kids.length >= min) scan(kids);
  }
  return { list, bySpan };
}

/**
 * Rows in display order (pre-order): descendants of collapsed spans skipped, each group one row, its
 * members (one level deeper) after it only when the group is open.
 */
export function waterfallRows(tree: SpanTree, collapsed: ReadonlySet<number>, groups: SiblingGroups, open: ReadonlySet<number>): WaterfallRow[] {
  const out: WaterfallRow[] = [];
  // Two parallel stacks (item, depth shift) rather than an object per pushed span.
  const items: (SpanNode | SiblingGroup)[] = [];
  const shifts: number[] = [];
  const grouping = groups.list.length > 0;
  const pushChildren = (kids: readonly SpanNode[], shift: number, regroup: boolean): void => {
    // Back to front, so that the stack pops them in order; a group enters as one item.
    let i = kids.length - 1;
    while (i >= 0) {
      const kid = kids[i] as SpanNode;
      const g = regroup ? groups.bySpan.get(kid.span.id) : undefined;
      if (g && g.members[g.members.length - 1] === kid && kids[i - g.members.length + 1] === g.members[0]) {
        items.push(g);
        i -= g.members.length;
      } else {
        items.push(kid);
        i--;
      }
      shifts.push(shift);
    }
  };
  pushChildren(tree.roots, 0, grouping);
  while (items.length) {
    const item = items.pop() as SpanNode | SiblingGroup;
    const shift = shifts.pop() as number;
    if ("members" in item) {
      out.push({ type: "group", group: item, depth: (item.members[0] as SpanNode).depth + shift });
      if (open.has(item.id)) pushChildren(item.members, shift + 1, false);
      continue;
    }
    out.push({ type: "span", node: item, depth: item.depth + shift });
    if (item.children.length && !collapsed.has(item.span.id)) pushChildren(item.children, shift, grouping);
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
