// The request-list filter: path substrings and key:value tokens, `-` negates.
//   books  status:5xx  status:404  method:post  has:n+1  has:error  has:dup  is:running  slower:200ms
//   faster:50ms  -has:error  "/path with spaces"  kind:websocket  kind:request
// Text matches a row's path, and a websocket row's event too ("receive /ws/chat/").

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
  /** Tokens that were not understood; they are ignored, and the box says why. */
  errors: string[];
}

export const FILTER_KEYS = ["status", "method", "has", "is", "slower", "faster", "kind"] as const;

/** `kind:` values: the trace kinds, and their short names. */
const KINDS: Record<string, string> = { request: "request", http: "request", websocket: "websocket", ws: "websocket" };

/** What the list's kind chips choose: every trace, or the traces of one kind. */
export type KindChoice = "all" | "request" | "websocket";

/** The text a row's path terms match: its path, after the event for a websocket row. */
export function rowText(r: ListRow): string {
  return r.event ? `${r.event} ${r.path}` : r.path;
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
};

const IS: Record<string, Predicate> = {
  running: (r) => r.duration_ns === null,
  done: (r) => r.duration_ns !== null,
};

/** Split on whitespace, keeping "double quoted" parts together. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  const re = /(-?)"([^"]*)"?|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[3] !== undefined) out.push(m[3]);
    else out.push(`${m[1] ?? ""}"${m[2] ?? ""}"`);
  }
  return out;
}

function statusPredicate(v: string): Predicate | null {
  const cls = /^([1-5])xx$/i.exec(v);
  if (cls) {
    const c = Number(cls[1]);
    return (r) => r.status !== null && Math.floor(r.status / 100) === c;
  }
  if (/^\d{3}$/.test(v)) {
    const s = Number(v);
    return (r) => r.status === s;
  }
  if (v === "running") return IS["running"] ?? null;
  return null;
}

function termFor(key: string, value: string): Predicate | string {
  switch (key) {
    case "status":
      return statusPredicate(value) ?? `status:${value}: use 5xx, 404 or running`;
    case "method": {
      const m = value.toUpperCase();
      return m ? (r) => r.method.toUpperCase() === m : "method: needs a value, e.g. method:post";
    }
    case "has":
      return HAS[value.toLowerCase()] ?? `has:${value}: use n+1, error, dup or sql`;
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
      return key === "slower"
        ? (r) => r.duration_ns !== null && r.duration_ns > ns
        : (r) => r.duration_ns !== null && r.duration_ns < ns;
    }
    default:
      return `${key}: unknown key (${FILTER_KEYS.join(", ")})`;
  }
}

export function parseFilter(text: string): Filter {
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
    const kv = /^([a-z]+):(.*)$/i.exec(tok);
    if (tok.startsWith('"')) {
      const needle = tok.replace(/^"|"$/g, "").toLowerCase();
      test = (r) => rowText(r).toLowerCase().includes(needle);
    } else if (kv && kv[1] !== undefined && kv[2] !== undefined) {
      const t = termFor(kv[1].toLowerCase(), kv[2]);
      if (typeof t === "string") {
        errors.push(t);
        continue;
      }
      test = t;
    } else {
      const needle = tok.toLowerCase();
      test = (r) => rowText(r).toLowerCase().includes(needle);
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
