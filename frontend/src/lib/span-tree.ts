// The span tree, built from the flat span list, and its visible (expanded) rows in display order.

import type { Span } from "./trace-format";

export interface SpanNode {
  span: Span;
  parent: SpanNode | null;
  children: SpanNode[];
  depth: number;
  /** The parent id was given but no such span exists (or the links form a cycle): shown at the root. */
  orphan: boolean;
  /** This span or a descendant raised (exception span, SQL error). */
  problem: boolean;
}

export interface SpanTree {
  roots: SpanNode[];
  byId: Map<number, SpanNode>;
  /** Every node, in the order of the span list. */
  nodes: SpanNode[];
  size: number;
  /** Latest end of the closed spans, latest start of the open ones (-1: none open): see treeEndNs. */
  closedEndNs: number;
  openStartNs: number;
}

/** Latest end among the spans, open ones ending at `nowNs`: maxEndNs in O(1). */
export function treeEndNs(tree: SpanTree, nowNs: number): number {
  return tree.openStartNs < 0 ? tree.closedEndNs : Math.max(tree.closedEndNs, tree.openStartNs, nowNs);
}

export function spanHasProblem(span: Span): boolean {
  return span.kind === "exception" || (span.attrs["error"] !== undefined && span.attrs["error"] !== null);
}

function byStart(a: SpanNode, b: SpanNode): number {
  return a.span.start_ns - b.span.start_ns || a.span.id - b.span.id;
}

/** Shared by every leaf until it gets a child: a 10,000-span trace is mostly leaves. */
const NO_CHILDREN: SpanNode[] = [];

/**
 * Links spans by parent_id. The list is meant to come parents first, ordered by start, but nothing here
 * relies on it: spans are linked in two passes, children sorted by start, and orphans or cycles in broken
 * data become roots flagged `orphan` instead of being lost. Iterative throughout: a hostile trace can nest
 * deeper than the call stack. Plain loops without per-span calls or allocations beyond the node: opening
 * a 10,000-span trace runs this before the JIT has warmed up.
 */
export function buildSpanTree(spans: readonly Span[]): SpanTree {
  const byId = new Map<number, SpanNode>();
  const nodes: SpanNode[] = [];
  let closedEndNs = 0;
  let openStartNs = -1;
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i] as Span;
    if (byId.has(span.id)) continue; // first one wins; the parser rejects duplicates anyway
    if (span.duration_ns === null) {
      if (span.start_ns > openStartNs) openStartNs = span.start_ns;
    } else if (span.start_ns + span.duration_ns > closedEndNs) closedEndNs = span.start_ns + span.duration_ns;
    const error = span.attrs["error"];
    const node: SpanNode = {
      span,
      parent: null,
      children: NO_CHILDREN,
      depth: -1, // not reached yet
      orphan: false,
      problem: span.kind === "exception" || (error !== undefined && error !== null),
    };
    byId.set(span.id, node);
    nodes.push(node);
  }
  const roots: SpanNode[] = [];
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i] as SpanNode;
    const pid = node.span.parent_id;
    const parent = pid === null ? undefined : byId.get(pid);
    if (parent && parent !== node) {
      node.parent = parent;
      if (parent.children === NO_CHILDREN) parent.children = [node];
      else parent.children.push(node);
    } else {
      node.orphan = pid !== null;
      roots.push(node);
    }
  }
  // Depth-first from the roots; whatever is not reached sits on a cycle: cut it loose as an orphan root.
  const stack: SpanNode[] = [];
  let reached = 0;
  const walk = (start: SpanNode): void => {
    stack.push(start);
    while (stack.length) {
      const n = stack.pop() as SpanNode;
      reached++;
      n.depth = n.parent ? n.parent.depth + 1 : 0;
      const kids = n.children;
      if (kids.length > 1 && !isSorted(kids)) kids.sort(byStart);
      for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i] as SpanNode);
    }
  };
  for (let i = 0; i < roots.length; i++) walk(roots[i] as SpanNode);
  if (reached < nodes.length) {
    for (const node of nodes) {
      if (node.depth >= 0) continue;
      // Climb to a node of the cycle (every unreached node leads into one), cut it there.
      let cut = node;
      const onPath = new Set<SpanNode>();
      while (cut.parent && !onPath.has(cut)) {
        onPath.add(cut);
        cut = cut.parent;
      }
      const parent = cut.parent;
      if (parent) parent.children.splice(parent.children.indexOf(cut), 1);
      cut.parent = null;
      cut.orphan = true;
      roots.push(cut);
      walk(cut);
    }
  }
  if (!isSorted(roots)) roots.sort(byStart);
  // Problems bubble up to every ancestor (few spans have one; a climb stops where a problem is known).
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i] as SpanNode;
    if (!n.problem || (n.parent && n.parent.problem)) continue;
    for (let a = n.parent; a && !a.problem; a = a.parent) a.problem = true;
  }
  return { roots, byId, nodes, size: nodes.length, closedEndNs, openStartNs };
}

function isSorted(list: SpanNode[]): boolean {
  for (let i = 1; i < list.length; i++) {
    const a = (list[i - 1] as SpanNode).span;
    const b = (list[i] as SpanNode).span;
    if (a.start_ns > b.start_ns || (a.start_ns === b.start_ns && a.id > b.id)) return false;
  }
  return true;
}

/** Rows in display order (pre-order), skipping the descendants of collapsed spans. */
export function visibleRows(tree: SpanTree, collapsed: ReadonlySet<number>): SpanNode[] {
  const out: SpanNode[] = [];
  const stack: SpanNode[] = [];
  for (let i = tree.roots.length - 1; i >= 0; i--) stack.push(tree.roots[i] as SpanNode);
  while (stack.length) {
    const n = stack.pop() as SpanNode;
    out.push(n);
    if (collapsed.has(n.span.id)) continue;
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i] as SpanNode);
  }
  return out;
}

/** Ids of the ancestors of a span, nearest first. */
export function ancestorIds(tree: SpanTree, id: number): number[] {
  const out: number[] = [];
  let n = tree.byId.get(id)?.parent ?? null;
  while (n && out.length <= tree.size) {
    out.push(n.span.id);
    n = n.parent;
  }
  return out;
}

/** Collapsed set with every ancestor of `ids` expanded (so those spans are visible). */
export function revealSpans(tree: SpanTree, collapsed: ReadonlySet<number>, ids: Iterable<number>): Set<number> {
  const next = new Set(collapsed);
  for (const id of ids) for (const a of ancestorIds(tree, id)) next.delete(a);
  return next;
}
