// A recorded query made readable: its parameters written into the SQL as the vendor would quote literals,
// and line breaks at its clauses. For reading and copying only: the server never runs this text (EXPLAIN
// reads the recorded statement and parameters itself), and parameters are the trace's display strings.

import { tokenizeSql, type SqlToken } from "./sql-tokenize";

/** A SQL string literal: single quotes doubled (standard SQL; PostgreSQL's standard_conforming_strings). */
export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

// A number as Python's repr writes one ("007" was a string: it stays quoted).
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
// Deeper subqueries are not indented further (a hostile statement nested 10,000 deep stays linear).
const MAX_INDENT = 12;
const WRAPPED = /^(?:Decimal|UUID)\('([^'\\]*)'\)$/;
const DATETIME = /^datetime\.(datetime|date|time)\(([-\d, ]*)(?:, tzinfo=([\w.()=', -]+))?\)$/;

function pad(n: string | undefined, width = 2): string {
  return (n ?? "0").trim().padStart(width, "0");
}

/** `datetime.datetime(2026, 12, 7, 17, 0, tzinfo=datetime.timezone.utc)` as `2026-12-07 17:00:00+00:00`. */
function datetimeText(kind: string, args: string, tz: string | undefined): string | null {
  const n = args.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const utc = tz !== undefined && /timezone\.utc|ZoneInfo\(key='(?:UTC|Etc\/UTC)'\)/.test(tz) ? "+00:00" : "";
  if (tz !== undefined && !utc) return null;
  if (kind === "date" && n.length === 3) return `${pad(n[0], 4)}-${pad(n[1])}-${pad(n[2])}`;
  const time = (h: string[]): string => {
    const micro = h[3] !== undefined ? `.${pad(h[3], 6)}` : "";
    return `${pad(h[0])}:${pad(h[1])}:${pad(h[2])}${micro}`;
  };
  if (kind === "time" && n.length >= 2) return time(n) + utc;
  if (kind === "datetime" && n.length >= 5) return `${pad(n[0], 4)}-${pad(n[1])}-${pad(n[2])} ${time(n.slice(3))}${utc}`;
  return null;
}

/**
 * One recorded parameter (a display string) as a literal of `vendor`'s SQL: NULL, a number as it is,
 * booleans as TRUE/FALSE (1/0 on SQLite), the repr of a Decimal, UUID or date as its text, anything else
 * quoted.
 */
export function literal(shown: unknown, vendor: string): string {
  if (shown === null || shown === undefined || shown === "NULL") return "NULL";
  if (typeof shown === "number") return String(shown);
  if (typeof shown === "boolean") return literal(shown ? "True" : "False", vendor);
  const text = typeof shown === "string" ? shown : JSON.stringify(shown);
  if (NUMBER.test(text)) return text;
  if (text === "True" || text === "False") return vendor === "sqlite" ? (text === "True" ? "1" : "0") : text.toUpperCase();
  const wrapped = WRAPPED.exec(text);
  if (wrapped) return quoteLiteral(wrapped[1] ?? "");
  const dt = DATETIME.exec(text);
  if (dt) {
    const iso = datetimeText(dt[1] ?? "", dt[2] ?? "", dt[3]);
    if (iso !== null) return quoteLiteral(iso);
  }
  return quoteLiteral(text);
}

/**
 * `sql` with its `%s` (Django's placeholder, also `?`) replaced by the parameters' literals, `%%` back to
 * `%`. Placeholders inside strings, quoted names and comments are left alone; with fewer parameters than
 * placeholders the rest stay as they are. `many` (executemany) queries keep their placeholders.
 */
export function inlineParams(sql: string, params: readonly unknown[], vendor: string): string {
  if (params.length === 0) return sql;
  let next = 0;
  let out = "";
  const tokens = tokenizeSql(sql);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as SqlToken;
    if (t.type === "param" && (t.text === "%s" || t.text === "?") && next < params.length) {
      out += literal(params[next++], vendor);
    } else if (t.type === "punct" && t.text === "%" && tokens[i + 1]?.text === "%") {
      out += "%"; // Django doubles a literal % when it passes parameters
      i++;
    } else {
      out += t.type === "string" || t.type === "ident" ? t.text.replaceAll("%%", "%") : t.text;
    }
  }
  return out;
}

// Clauses that start a line, and the words that continue them (JOIN's "LEFT OUTER").
const CLAUSES = new Set(["SELECT", "FROM", "WHERE", "GROUP", "ORDER", "HAVING", "LIMIT", "OFFSET", "UNION", "INTERSECT", "EXCEPT", "WINDOW", "RETURNING", "VALUES", "ON"]);
const JOIN_LEAD = new Set(["LEFT", "RIGHT", "INNER", "OUTER", "FULL", "CROSS", "NATURAL", "JOIN"]);
const CONDITIONS = new Set(["AND", "OR"]);

/**
 * `sql` broken into lines at its clauses (SELECT, FROM, each JOIN, WHERE, each AND/OR of a WHERE at the
 * same level, GROUP BY, ORDER BY, LIMIT...), subqueries indented by their depth, runs of whitespace
 * collapsed outside strings and comments. Nothing else changes: tokens keep their text and order.
 */
export function formatSql(sql: string): string {
  const tokens = tokenizeSql(sql.trim());
  const lines: string[] = [];
  let line = "";
  let depth = 0;
  let prevWord = "";
  let inCase = 0;
  let between = false;
  const breakLine = (indent: number): void => {
    if (line.trim() !== "") lines.push(line.trimEnd());
    line = "  ".repeat(Math.min(indent, MAX_INDENT));
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as SqlToken;
    if (t.type === "space") {
      if (line.trim() !== "" && !line.endsWith(" ") && !line.endsWith("(")) line += " ";
      continue;
    }
    if (t.type === "punct") {
      if (t.text === "(") depth++;
      else if (t.text === ")") depth = Math.max(0, depth - 1);
      if (t.text === ")" || t.text === "," || t.text === ".") line = line.trimEnd();
      line += t.text;
      continue;
    }
    if (t.type === "keyword") {
      const kw = t.text.toUpperCase();
      if (kw === "CASE") inCase++;
      else if (kw === "END" && inCase > 0) inCase--;
      const joinStart = JOIN_LEAD.has(kw) && !JOIN_LEAD.has(prevWord);
      if (kw === "BETWEEN") between = true;
      if (kw === "ON") breakLine(depth + 1);
      else if (CLAUSES.has(kw) || joinStart) breakLine(depth);
      else if (CONDITIONS.has(kw) && inCase === 0 && !between) breakLine(depth + 1);
      if (kw === "AND") between = false;
      prevWord = kw;
    } else if (t.type === "word") {
      prevWord = t.text.toUpperCase();
    }
    line += t.text;
  }
  breakLine(0);
  return lines.join("\n");
}
