// The request-list filter: path text and key:value tokens, `-` negates, all terms must hold.
//   books  "/path with spaces"  status:5xx  status:404  status:400-499  status:>=500  status:404,500
//   method:post  view:book_list  url:book-list  sql:shop_author  sql:"FROM shop_author"  template:_card
//   user:alice  slower:200ms  faster:50ms  after:14:02  before:14:10  since:5m  has:n+1  has:error  has:dup
//   has:user  is:running  kind:websocket  -has:error
// Text matches a row's path with its query string ("/books/?page=2"), and a websocket row's event too.
// sql: and template: search what the row carries (ListRow.sql, .templates: the trace's distinct statements,
// normalized, and template names, at most 20 each; docs/trace-format.md), so a filter gives the same answer
// for a row whether or not its trace was loaded. A term that is not understood (an unknown key, a bad value)
// is left out and reported: Filter.errors, shown beside the filter box.

import { parseDurationNs } from "./format";
import type { ListRow } from "./trace-format";

export type Predicate = (row: ListRow) => boolean;

export interface FilterTerm {
  /** The token as typed, for display. */
  text: string;
  negate: boolean;
  test: Predicate;
}

export interface Filter {
  terms: FilterTerm[];
  /** Tokens that were not understood; they are left out, and the box says why. */
  errors: string[];
}

export const FILTER_KEYS = [
  "status",
  "method",
  "view",
  "url",
  "sql",
  "template",
  "user",
  "slower",
  "faster",
  "after",
  "before",
  "since",
  "has",
  "is",
  "kind",
] as const;

/** Other spellings of a key. */
const ALIASES: Record<string, (typeof FILTER_KEYS)[number]> = { url_name: "url", name: "url", templates: "template", tpl: "template", users: "user" };

/** `kind:` values: the trace kinds, and their short names. */
const KINDS: Record<string, string> = { request: "request", http: "request", websocket: "websocket", ws: "websocket" };

/** What the list's kind chips choose: every trace, or the traces of one kind. */
export type KindChoice = "all" | "request" | "websocket";

/** The text a row's path terms match: its path, after the event for a websocket row. */
export function rowText(r: ListRow): string {
  return r.event ? `${r.event} ${r.path}` : r.path;
}

/** What plain text terms search: the row's text and its query string. */
export function searchText(r: ListRow): string {
  return r.query ? `${rowText(r)}?${r.query}` : rowText(r);
}

const HAS: Record<string, Predicate> = {
  "n+1": (r) => r.n_plus_one > 0,
  nplus1: (r) => r.n_plus_one > 0,
  error: (r) => r.error !== null || (r.status !== null && r.status >= 500),
  dup: (r) => r.duplicates > 0,
  dups: (r) => r.duplicates > 0,
  duplicates: (r) => r.duplicates > 0,
  sql: (r) => r.queries > 0,
  queries: (r) => r.queries > 0,
  user: (r) => r.user !== null,
  query: (r) => r.query !== "",
};

const IS: Record<string, Predicate> = {
  running: (r) => r.duration_ns === null,
  done: (r) => r.duration_ns !== null,
};

/** Split on whitespace, keeping "double quoted" parts (and key:"quoted values") together. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  const re = /(-?)"([^"]*)"?|(-?[A-Za-z_]+:"[^"]*"?)|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[4] !== undefined) out.push(m[4]);
    else if (m[3] !== undefined) out.push(m[3]);
    else out.push(`${m[1] ?? ""}"${m[2] ?? ""}"`);
  }
  return out;
}

// ---- status

function statusPart(v: string): Predicate | null {
  const cls = /^([1-5])xx$/i.exec(v);
  if (cls) {
    const c = Number(cls[1]);
    return (r) => r.status !== null && Math.floor(r.status / 100) === c;
  }
  if (/^\d{3}$/.test(v)) {
    const s = Number(v);
    return (r) => r.status === s;
  }
  const range = /^(\d{3})-(\d{3})$/.exec(v);
  if (range) {
    const lo = Number(range[1]);
    const hi = Number(range[2]);
    return lo <= hi ? (r) => r.status !== null && r.status >= lo && r.status <= hi : null;
  }
  const cmp = /^(>=|<=|>|<)(\d{3})$/.exec(v);
  if (cmp) {
    const n = Number(cmp[2]);
    const op = cmp[1];
    return (r) => r.status !== null && (op === ">=" ? r.status >= n : op === "<=" ? r.status <= n : op === ">" ? r.status > n : r.status < n);
  }
  if (v.toLowerCase() === "running") return IS["running"] ?? null;
  return null;
}

/** `a,b,c`: any of the parts; null when one of them does not parse. */
function anyOf(value: string, part: (v: string) => Predicate | null): Predicate | null {
  const preds: Predicate[] = [];
  for (const v of value.split(",")) {
    const p = v ? part(v) : null;
    if (!p) return null;
    preds.push(p);
  }
  return preds.length === 1 ? (preds[0] ?? null) : (r) => preds.some((p) => p(r));
}

// ---- time

const AGO_UNITS: Record<string, number> = { s: 1e3, sec: 1e3, m: 60e3, min: 60e3, h: 3600e3, d: 86400e3 };

/** `since:` durations: "90s", "5m", "5min", "2h", "1d" -> ms. */
export function parseAgoMs(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(s|sec|m|min|h|d)$/i.exec(text.trim());
  if (!m || m[1] === undefined || m[2] === undefined) return null;
  return Number(m[1]) * (AGO_UNITS[m[2].toLowerCase()] ?? NaN);
}

/**
 * `after:` / `before:` values -> epoch ms: a time of day ("14:02", "14:02:30") is today's in the browser's
 * time zone (the list shows times of day in it); a date ("2026-12-07") or date and time
 * ("2026-12-07T14:02", local too) for another day.
 */
export function parseTimeMs(text: string, nowMs: number): number | null {
  const tod = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (tod) {
    const [hh, mm, ss] = [Number(tod[1]), Number(tod[2]), Number(tod[3] ?? 0)];
    if (hh > 23 || mm > 59 || ss > 59) return null;
    const d = new Date(nowMs);
    d.setHours(hh, mm, ss, 0);
    return d.getTime();
  }
  const date = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (date) {
    const [y, mo, d, hh, mm, ss] = [1, 2, 3, 4, 5, 6].map((i) => Number(date[i] ?? 0)) as [number, number, number, number, number, number];
    const t = new Date(y, mo - 1, d, hh, mm, ss, 0);
    return t.getMonth() === mo - 1 && t.getDate() === d && t.getHours() === hh ? t.getTime() : null;
  }
  return null;
}

function startedMs(r: ListRow): number {
  return Date.parse(r.started_at);
}

// ---- text fields

const lowered = new WeakMap<readonly string[], string>();

/** The items of a row's list, lowercased and joined by newlines (no needle has one), once per row. */
function joinedLower(items: readonly string[]): string {
  let s = lowered.get(items);
  if (s === undefined) {
    s = items.join("\n").toLowerCase();
    lowered.set(items, s);
  }
  return s;
}

function contains(field: (r: ListRow) => string | null, needle: string): Predicate {
  const n = needle.toLowerCase();
  return (r) => (field(r) ?? "").toLowerCase().includes(n);
}

function termFor(key: string, value: string, nowMs: number): Predicate | string {
  const named = ALIASES[key] ?? key;
  const needsValue = `${key}: needs a value, e.g. ${EXAMPLES[named] ?? `${named}:x`}`;
  switch (named) {
    case "status":
      return anyOf(value, statusPart) ?? `status:${value}: use 5xx, 404, 400-499, >=500, 404,500 or running`;
    case "method": {
      if (!value) return needsValue;
      const methods = value.toUpperCase().split(",");
      return (r) => methods.includes(r.method.toUpperCase());
    }
    case "view":
      return value ? contains((r) => r.view, value) : needsValue;
    case "url":
      return value ? contains((r) => r.url_name, value) : needsValue;
    case "user":
      return value ? contains((r) => r.user, value) : needsValue;
    case "sql":
    case "template": {
      if (!value) return needsValue;
      const n = value.toLowerCase();
      return named === "sql" ? (r) => joinedLower(r.sql).includes(n) : (r) => joinedLower(r.templates).includes(n);
    }
    case "has":
      return HAS[value.toLowerCase()] ?? `has:${value}: use n+1, error, dup, sql, user or query`;
    case "is":
      return IS[value.toLowerCase()] ?? `is:${value}: use running or done`;
    case "kind": {
      const kind = KINDS[value.toLowerCase()];
      return kind ? (r) => r.kind === kind : `kind:${value}: use request or websocket`;
    }
    case "slower":
    case "faster": {
      const ns = parseDurationNs(value);
      if (ns === null) return `${key}:${value}: use a duration like 200ms or 1.5s`;
      return named === "slower"
        ? (r) => r.duration_ns !== null && r.duration_ns > ns
        : (r) => r.duration_ns !== null && r.duration_ns < ns;
    }
    case "after":
    case "before": {
      const t = parseTimeMs(value, nowMs);
      if (t === null) return `${key}:${value}: use a time of day like 14:02 or 14:02:30, or a date like 2026-12-07T14:02`;
      return named === "after" ? (r) => startedMs(r) >= t : (r) => startedMs(r) < t;
    }
    case "since": {
      const ms = parseAgoMs(value);
      if (ms === null) return `since:${value}: use a duration like 90s, 5m, 2h or 1d`;
      const t = nowMs - ms;
      return (r) => startedMs(r) >= t;
    }
    default: {
      const near = nearestKey(key);
      return `${key}: unknown key${near ? `, did you mean ${near}:?` : ""} (use ${FILTER_KEYS.join(", ")})`;
    }
  }
}

/** The filter key a typo is closest to (at most 2 edits away), for the report. */
export function nearestKey(typed: string): string | null {
  let best: string | null = null;
  let bestD = 3;
  for (const k of [...FILTER_KEYS, ...Object.keys(ALIASES)]) {
    const d = editDistance(typed, k);
    if (d < bestD) [best, bestD] = [ALIASES[k] ?? k, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

const EXAMPLES: Record<string, string> = {
  method: "method:post",
  view: "view:book_list",
  url: "url:book-list",
  user: "user:alice",
  sql: "sql:shop_author",
  template: "template:_card.html",
};

/**
 * `nowMs`: the moment `since:` counts back from and whose day a time of day (`after:14:02`) is on; the
 * filter is parsed again when its text changes, so `since:5m` means the 5 minutes before it was typed.
 */
export function parseFilter(text: string, nowMs: number = Date.now()): Filter {
  const terms: FilterTerm[] = [];
  const errors: string[] = [];
  for (const raw of tokenize(text)) {
    let tok = raw;
    let negate = false;
    if (tok.startsWith("-") && tok.length > 1) {
      negate = true;
      tok = tok.slice(1);
    }
    let test: Predicate;
    const kv = /^([a-z_]+):(.*)$/i.exec(tok);
    if (tok.startsWith('"')) {
      const needle = tok.replace(/^"|"$/g, "").toLowerCase();
      test = (r) => searchText(r).toLowerCase().includes(needle);
    } else if (kv && kv[1] !== undefined && kv[2] !== undefined) {
      const t = termFor(kv[1].toLowerCase(), kv[2].replace(/^"([^"]*)"?$/, "$1"), nowMs);
      if (typeof t === "string") {
        errors.push(t);
        continue;
      }
      test = t;
    } else {
      const needle = tok.toLowerCase();
      test = (r) => searchText(r).toLowerCase().includes(needle);
    }
    terms.push({ text: raw, negate, test });
  }
  return { terms, errors };
}

/** All terms must hold (negated ones must not). */
export function matches(filter: Filter, row: ListRow): boolean {
  for (const t of filter.terms) if (t.test(row) === t.negate) return false;
  return true;
}

/** Which kind chip the filter text selects: its last (not negated) `kind:` term, else "all". */
export function kindChoice(text: string): KindChoice {
  let choice: KindChoice = "all";
  for (const tok of tokenize(text)) {
    const m = /^kind:(.*)$/i.exec(tok);
    const kind = m ? KINDS[(m[1] ?? "").toLowerCase()] : undefined;
    if (kind === "request" || kind === "websocket") choice = kind;
  }
  return choice;
}

/** The filter text with its `kind:` terms replaced by the one `choice` needs (none for "all"). */
export function withKind(text: string, choice: KindChoice): string {
  const rest = tokenize(text).filter((t) => !/^-?kind:/i.test(t));
  if (choice !== "all") rest.push(`kind:${choice}`);
  return rest.join(" ");
}
