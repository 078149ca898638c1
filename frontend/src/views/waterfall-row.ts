// One row of the waterfall's name column, in the DOM: a span, or a folded group of sibling queries
// ("SELECT … ×20 · 24 ms"). Rows are pooled: `fillRow` rewrites an element only when its row changed.

import type { SiblingGroup, WaterfallRow } from "../lib/autogroup";
import { formatDuration } from "../lib/format";
import { GROUP_COLOR_VARS, kindClass, kindStyle, paintKindIcon } from "../lib/kinds";
import { indentPx, spanFullName, spanLabel, spanTitle } from "../lib/span-label";
import { groupOfSpan } from "../lib/summary";
import type { DuplicateGroup } from "../lib/trace-format";
import { ROW_HEIGHT } from "../lib/waterfall-layout";
import { h, setAttr, setText, toggle } from "./dom";

const MAX_INDENT_PX = 200;

export interface RowEls {
  el: HTMLElement;
  cell: HTMLElement;
  twisty: HTMLElement;
  icon: HTMLElement;
  name: HTMLElement;
  /** Made when a row first needs them: most rows never do (fewer elements to style on a big trace). */
  count: HTMLElement | null;
  chip: HTMLElement | null;
  flag: HTMLElement | null;
  row: WaterfallRow | null;
  index: number;
}

/** What a row needs to know beyond its own data. */
export interface RowContext {
  nameW: number;
  collapsed: ReadonlySet<number>;
  openGroups: ReadonlySet<number>;
  /** fingerprint -> index of its duplicate group in `dupGroups` (the colored chips). */
  dupOf: ReadonlyMap<string, number>;
  dupGroups: readonly DuplicateGroup[];
  selected: number | null;
  /** A folded group under the keyboard cursor. */
  cursorGroup: number | null;
  highlight: ReadonlySet<number> | null;
}

const CELL_PAD_PX = 6;

export function makeRow(): RowEls {
  const twisty = h("span", { class: "wf-twisty", attrs: { "data-role": "toggle", "aria-hidden": "true" } });
  const icon = h("span", { class: "kind-icon" });
  const name = h("span", { class: "wf-name" });
  const cell = h("div", { class: "wf-cell" }, twisty, icon, name);
  const el = h("div", { class: "wf-row", testid: "waterfall-row", attrs: { role: "treeitem" } }, cell);
  return { el, cell, twisty, icon, name, count: null, chip: null, flag: null, row: null, index: -1 };
}

/** The extra element `key` of a row, made (in its place: count, chip, flag) on first use. */
function extra(r: RowEls, key: "count" | "chip" | "flag"): HTMLElement {
  let el = r[key];
  if (el) return el;
  el = key === "count" ? h("span", { class: "wf-count" }) : key === "chip" ? h("span", { class: "dup-chip", testid: "dup-chip" }) : h("span", { class: "wf-flag" });
  const after = key === "count" ? (r.chip ?? r.flag) : key === "chip" ? r.flag : null;
  r.cell.insertBefore(el, after);
  r[key] = el;
  return el;
}

function hideExtra(r: RowEls, key: "count" | "chip" | "flag"): void {
  const el = r[key];
  if (el) toggle(el, false);
}

export function groupHas(g: SiblingGroup, ids: ReadonlySet<number> | null): boolean {
  if (!ids) return false;
  for (const m of g.members) if (ids.has(m.span.id)) return true;
  return false;
}

export function fillRow(r: RowEls, row: WaterfallRow, index: number, ctx: RowContext): void {
  if (r.index !== index) {
    r.el.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
    r.index = index;
  }
  let selected: boolean;
  let lit: boolean;
  if (row.type === "span") {
    selected = row.node.span.id === ctx.selected && ctx.cursorGroup === null;
    lit = !!ctx.highlight?.has(row.node.span.id);
  } else {
    const g = row.group;
    // The cursor is on it, or the selected span is folded inside it.
    selected = ctx.cursorGroup === g.id || (ctx.cursorGroup === null && !ctx.openGroups.has(g.id) && g.members.some((m) => m.span.id === ctx.selected));
    lit = groupHas(g, ctx.highlight);
  }
  r.el.classList.toggle("selected", selected);
  setAttr(r.el, "aria-selected", String(selected));
  r.el.classList.toggle("highlighted", lit);
  r.el.classList.toggle("dimmed", !!ctx.highlight && !lit);
  if (r.row === row) return;
  r.row = row;
  r.cell.style.paddingLeft = `${CELL_PAD_PX + indentPx(row.depth, Math.min(MAX_INDENT_PX, ctx.nameW * 0.4))}px`;
  setAttr(r.el, "aria-level", String(row.depth + 1));
  if (row.type === "span") fillSpan(r, row, ctx);
  else fillGroup(r, row.group, ctx);
}

function setKindIcon(r: RowEls, kind: string): void {
  const ks = kindStyle(kind);
  r.icon.className = `kind-icon kind-${kindClass(kind)}`;
  paintKindIcon(r.icon, kind);
  setText(r.icon, ks.symbol);
  r.icon.title = kind;
}

function fillSpan(r: RowEls, row: Extract<WaterfallRow, { type: "span" }>, ctx: RowContext): void {
  const node = row.node;
  const s = node.span;
  setAttr(r.el, "data-span-id", String(s.id));
  setAttr(r.el, "data-kind", s.kind);
  setAttr(r.el, "data-running", String(s.duration_ns === null));
  setAttr(r.el, "data-group-id", null);
  setAttr(r.el, "data-count", null);
  setAttr(r.el, "data-fp", null);
  const hasKids = node.children.length > 0;
  const collapsed = ctx.collapsed.has(s.id);
  setAttr(r.el, "aria-expanded", hasKids ? String(!collapsed) : null);
  setText(r.twisty, hasKids ? (collapsed ? "▸" : "▾") : "");
  r.twisty.title = hasKids ? `${collapsed ? "Expand" : "Collapse"} (${node.children.length} children)` : "";
  setKindIcon(r, s.kind);
  setText(r.name, spanLabel(s));
  r.el.title = spanTitle(s);
  hideExtra(r, "count");
  const g = groupOfSpan(ctx.dupOf, s);
  const group = g === undefined ? undefined : ctx.dupGroups[g];
  if (group && g !== undefined) {
    const chip = extra(r, "chip");
    toggle(chip, true);
    setText(chip, `×${group.count}`);
    chip.style.setProperty("--chip", `var(${GROUP_COLOR_VARS[g % GROUP_COLOR_VARS.length]})`);
    chip.title = `${group.n_plus_one ? "N+1 group" : "Duplicate group"}: ${group.count} × ${group.fingerprint}`;
    chip.classList.toggle("n-plus-one", group.n_plus_one);
  } else hideExtra(r, "chip");
  const flag = node.orphan ? "orphan" : node.problem && (collapsed || s.kind === "exception" || s.attrs["error"] != null) ? "problem" : "";
  if (flag) {
    const f = extra(r, "flag");
    toggle(f, true);
    f.className = `wf-flag ${flag}`;
    setText(f, flag === "orphan" ? "⋯" : collapsed ? "◌" : "●");
    f.title = flag === "orphan" ? `parent span ${s.parent_id ?? ""} missing` : "error in this subtree";
  } else hideExtra(r, "flag");
}

function fillGroup(r: RowEls, g: SiblingGroup, ctx: RowContext): void {
  const first = g.members[0]?.span;
  if (!first) return;
  const open = ctx.openGroups.has(g.id);
  const n = g.members.length;
  setAttr(r.el, "data-span-id", null);
  setAttr(r.el, "data-running", null);
  setAttr(r.el, "data-kind", "sql-group");
  setAttr(r.el, "data-group-id", String(g.id));
  setAttr(r.el, "data-count", String(n));
  setAttr(r.el, "data-fp", g.fp);
  setAttr(r.el, "aria-expanded", String(open));
  setText(r.twisty, open ? "▾" : "▸");
  r.twisty.title = open ? "Fold these queries" : `Show the ${n} queries`;
  setKindIcon(r, "sql");
  setText(r.name, spanLabel(first));
  const total = formatDuration(g.totalNs);
  r.el.title = `${n} similar queries in a row, ${total} in all (click to ${open ? "fold" : "show"} them)\n${spanFullName(first)}`;
  const count = extra(r, "count");
  toggle(count, true);
  setText(count, `×${n} · ${total}`);
  const d = groupOfSpan(ctx.dupOf, first);
  const dup = d === undefined ? undefined : ctx.dupGroups[d];
  count.style.setProperty("--chip", dup && d !== undefined ? `var(${GROUP_COLOR_VARS[d % GROUP_COLOR_VARS.length]})` : "var(--kind-sql)");
  count.classList.toggle("n-plus-one", !!dup?.n_plus_one);
  hideExtra(r, "chip");
  if (g.error) {
    const f = extra(r, "flag");
    toggle(f, true);
    f.className = "wf-flag problem";
    setText(f, "●");
    f.title = "a query of this group failed";
  } else hideExtra(r, "flag");
}
