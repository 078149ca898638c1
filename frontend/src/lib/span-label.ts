// What a waterfall row says about its span: a one-line label (SQL shortened), the full text for the
// tooltip, and the indent of a nesting depth. Labels are computed when a row is shown, once per statement.

import { formatDuration } from "./format";
import { sqlLabel } from "./sql-tokenize";
import type { Span } from "./trace-format";

/** Longest SQL text put in a tooltip. */
const TITLE_SQL_CHARS = 4000;

/** SQL text -> label: an N+1 repeats one statement hundreds of times; tokenize it once. */
const sqlLabels = new Map<string, string>();
const SQL_LABELS_KEPT = 2000;

/** The row label: SQL as `SELECT … FROM "t" WHERE …`, other kinds their name (or kind when unnamed). */
export function spanLabel(span: Span): string {
  if (span.kind !== "sql") return span.name || span.kind;
  const sql = sqlText(span);
  let label = sqlLabels.get(sql);
  if (label === undefined) {
    label = sqlLabel(sql) || span.name || span.kind;
    if (sqlLabels.size >= SQL_LABELS_KEPT) sqlLabels.clear();
    if (sql.length <= 4000) sqlLabels.set(sql, label);
  }
  return label;
}

/** The span's whole name (for SQL the full statement when the trace has it), for the tooltip. */
export function spanFullName(span: Span): string {
  if (span.kind !== "sql") return span.name || span.kind;
  const sql = sqlText(span);
  return sql.length > TITLE_SQL_CHARS ? `${sql.slice(0, TITLE_SQL_CHARS)}…` : sql;
}

export function spanTitle(span: Span): string {
  const timing = span.duration_ns === null ? "running" : formatDuration(span.duration_ns);
  return `${spanFullName(span)}\n${timing} at +${formatDuration(span.start_ns)}`;
}

function sqlText(span: Span): string {
  const sql = span.attrs["sql"];
  return typeof sql === "string" && sql.length >= span.name.length ? sql : span.name;
}

/**
 * Indent of a row: 8 px per level for the first 6 levels, 4 px per level below (middleware stacks nest
 * ten deep before the view starts), never more than `maxPx`.
 */
export function indentPx(depth: number, maxPx: number): number {
  const px = depth <= 6 ? depth * 8 : 48 + (depth - 6) * 4;
  return Math.max(0, Math.min(px, maxPx));
}
