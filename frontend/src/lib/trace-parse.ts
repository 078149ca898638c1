// Parsing and validation of traces, list rows and websocket frames (docs/trace-format.md).
// Missing optional fields get their documented default; a field of the wrong type is an error that names it.

import { parseKinds } from "./kinds";
import {
  TRACE_FORMAT,
  TRACE_VERSION,
  type CallSite,
  type DuplicateGroup,
  type NPlusOneGroup,
  type TemplateLine,
  type LayerState,
  type Frame,
  type ListRow,
  type LiveEvent,
  type ServerMessage,
  type SimilarGroup,
  type Span,
  type Summary,
  type Trace,
} from "./trace-format";
import {
  FormatError,
  arrField,
  fail,
  field,
  isObject,
  join,
  num,
  numOrNull,
  obj,
  str,
  strOrNull,
  type Json,
} from "./validate";

import { limitTrace, tooLargeMessage, type Limits } from "./trace-limits";
import { SchemaError, validateTrace } from "./trace-schema";

export { FormatError } from "./validate";

/** Ids go into API URLs: keep them to a safe alphabet (the server uses 16 hex chars). */
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

function traceId(o: Json, key: string, path: string): string {
  const v = str(o, key, path);
  if (!ID_RE.test(v)) fail(join(path, key), "an id of letters, digits, '-' or '_' (16 hex chars)", v);
  return v;
}

// A trace is checked against the schema first (trace-schema.ts); these then read the valid JSON into the
// dashboard's model, giving absent optional fields their documented default. They cannot fail.

type Raw = Record<string, unknown>;

function frames(v: unknown): Frame[] {
  return Array.isArray(v) ? (v as Frame[]) : [];
}

function templateStack(v: unknown): TemplateLine[] {
  if (!Array.isArray(v)) return [];
  return (v as Raw[]).map((o) => ({
    template: o["template"] as string,
    file: o["file"] as string,
    line: (o["line"] as number | null) ?? 0,
    source: o["source"] as string,
  }));
}

const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
const numberOr = (v: unknown, dflt: number): number => (typeof v === "number" ? v : dflt);

/** Strict, field-naming validation of one span (the slow path, and the source of error messages). */
function parseSpanChecked(v: unknown, path: string): Span {
  const o = obj(v, path);
  const attrs = field(o, "attrs");
  return {
    id: num(o, "id", path, { int: true, min: 0 }),
    parent_id: numOrNull(o, "parent_id", path, { int: true, min: 0 }),
    kind: str(o, "kind", path),
    name: str(o, "name", path, ""),
    start_ns: num(o, "start_ns", path, { min: 0 }),
    duration_ns: numOrNull(o, "duration_ns", path, { min: 0 }),
    attrs: attrs === undefined || attrs === null ? {} : obj(attrs, join(path, "attrs")),
  };
}

function isNs(v: unknown): v is number {
  return typeof v === "number" && v >= 0 && Number.isFinite(v);
}

function isId(v: unknown): v is number {
  return typeof v === "number" && v >= 0 && Number.isInteger(v);
}

/**
 * One span. Traces can hold tens of thousands, so the common, valid case is checked inline without
 * building field paths; anything off goes through parseSpanChecked for a precise error.
 * `path` is the list's path and `index` the position, joined only when needed.
 */
export function parseSpan(v: unknown, path: string, index?: number): Span {
  if (isObject(v)) {
    const { id, parent_id, kind, name, start_ns, duration_ns, attrs } = v;
    if (
      isId(id) &&
      (parent_id === null || parent_id === undefined || isId(parent_id)) &&
      typeof kind === "string" &&
      (name === undefined || typeof name === "string") &&
      isNs(start_ns) &&
      (duration_ns === null || duration_ns === undefined || isNs(duration_ns)) &&
      (attrs === undefined || attrs === null || isObject(attrs))
    ) {
      // The parsed JSON object itself, completed in place: no copy of every span of a big trace.
      const s = v as unknown as Span;
      if (parent_id === undefined) s.parent_id = null;
      if (name === undefined) s.name = "";
      if (duration_ns === undefined) s.duration_ns = null;
      if (attrs === undefined || attrs === null) s.attrs = {};
      return s;
    }
  }
  return parseSpanChecked(v, index === undefined ? path : join(path, index));
}

/** The fields a duplicate group and an N+1 group share: the queries of one fingerprint and their caller. */
function queryGroup(o: Raw): Pick<DuplicateGroup, "fp" | "fingerprint" | "count" | "total_ns" | "span_ids" | "stack" | "template_stack"> {
  const spanIds = list<number>(o["span_ids"]);
  return {
    fp: o["fp"] as string,
    fingerprint: o["fingerprint"] as string,
    count: numberOr(o["count"], spanIds.length),
    total_ns: numberOr(o["total_ns"], 0),
    span_ids: spanIds,
    stack: frames(o["stack"]),
    template_stack: templateStack(o["template_stack"]),
  };
}

function duplicateGroup(o: Raw): DuplicateGroup {
  return {
    ...queryGroup(o),
    identical: numberOr(o["identical"], 0),
    n_plus_one: o["n_plus_one"] === true,
    sites: list<Raw>(o["sites"]).map(
      (c): CallSite => ({ count: c["count"] as number, stack: frames(c["stack"]), template_stack: templateStack(c["template_stack"]) }),
    ),
  };
}

function nPlusOneGroup(o: Raw): NPlusOneGroup {
  return { ...queryGroup(o), distinct_params: numberOr(o["distinct_params"], 0), request_span_id: numberOr(o["request_span_id"], 0) };
}

function similarGroup(o: Raw): SimilarGroup {
  const spanIds = list<number>(o["span_ids"]);
  return {
    key: o["key"] as string,
    count: o["count"] as number,
    total_ns: o["total_ns"] as number,
    span_ids: spanIds,
    fingerprints: numberOr(o["fingerprints"], 0),
  };
}

const numbers = (v: unknown): Record<string, number> => (isObject(v) ? (v as Record<string, number>) : {});

function summary(o: Raw): Summary {
  const counts = numbers(o["counts"]);
  const groups = list<Raw>(o["duplicate_groups"]).map(duplicateGroup);
  return {
    counts,
    time_ns: numbers(o["time_ns"]),
    // Traces from before self time: the inclusive sums are what there is.
    self_time_ns: numbers(o["self_time_ns"] ?? o["time_ns"]),
    queries: numberOr(o["queries"], counts["sql"] ?? 0),
    duplicate_groups: groups,
    similar_groups: list<Raw>(o["similar_groups"]).map(similarGroup),
    n_plus_one_groups: list<Raw>(o["n_plus_one_groups"]).map(nPlusOneGroup),
    n_plus_one: numberOr(o["n_plus_one"], groups.filter((g) => g.n_plus_one).length),
    status: (o["status"] as number | null | undefined) ?? null,
    error: (o["error"] as string | null | undefined) ?? null,
  };
}

/** A SchemaError as the dashboard reports it: `trace.spans[3].start_ns: expected an integer >= 0, got -5`. */
function formatError(e: SchemaError, path: string): FormatError {
  const hint = e.path === "format" ? ": this is not a django-request-lifecycle trace" : e.path === "version" ? ` (this dashboard reads trace format version ${TRACE_VERSION})` : "";
  return new FormatError(e.path ? join(path, e.path) : path, e.detail + hint);
}

/**
 * A trace. With `limits`, only the first `maxSpans` spans are read (the rest are neither validated nor
 * kept) and spans nested `maxDepth` deep or more are left out: Trace.cut says what was.
 */
export function parseTrace(v: unknown, path = "trace", limits?: Pick<Limits, "maxSpans" | "maxDepth">): Trace {
  try {
    validateTrace(v, limits?.maxSpans);
  } catch (e) {
    throw e instanceof SchemaError ? formatError(e, path) : e;
  }
  const o = v as Raw;
  const raw = o["spans"] as Span[];
  const spans = limits && raw.length > limits.maxSpans ? raw.slice(0, limits.maxSpans) : raw;
  const req = o["request"] as Raw;
  const user = req["user"] as Raw | null | undefined;
  const res = o["response"] as Raw | null;
  const rsv = o["resolver"] as Raw | null;
  const dropped = o["dropped"] as Raw | null;
  const trace: Trace = {
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    id: o["id"] as string,
    started_at: o["started_at"] as string,
    duration_ns: o["duration_ns"] as number | null,
    ...(typeof o["kind"] === "string" ? { kind: o["kind"] } : {}),
    ...(isObject(o["kinds"]) ? { kinds: o["kinds"] as Trace["kinds"] } : {}),
    request: {
      method: req["method"] as string | null,
      path: req["path"] as string | null,
      query: (req["query"] as string | undefined) ?? "",
      headers: (req["headers"] as Record<string, string> | undefined) ?? {},
      body: (req["body"] as string | null | undefined) ?? null,
      body_omitted: (req["body_omitted"] as string | null | undefined) ?? null,
      content_type: (req["content_type"] as string | undefined) ?? "",
      user: user
        ? {
            id: typeof user["id"] === "number" || typeof user["id"] === "string" ? user["id"] : null,
            username: (user["username"] as string | undefined) ?? "",
          }
        : null,
      scheme: (req["scheme"] as string | undefined) ?? "",
      ...(isObject(req["form"]) ? { form: req["form"] } : {}),
      ...(typeof req["block"] === "string" ? { block: req["block"] } : {}),
      ...(typeof req["requests"] === "number" ? { requests: req["requests"] } : {}),
      ...(typeof req["event"] === "string" ? { event: req["event"] } : {}),
    },
    response: res
      ? {
          status: res["status"] as number,
          headers: (res["headers"] as Record<string, string> | undefined) ?? {},
          size: (res["size"] as number | null | undefined) ?? null,
          streaming: res["streaming"] === true,
          ...(res["body"] !== undefined ? { body: (res["body"] as string | null) ?? null } : {}),
          ...(res["body_omitted"] !== undefined ? { body_omitted: (res["body_omitted"] as string | null) ?? null } : {}),
        }
      : null,
    resolver: rsv
      ? {
          url_name: (rsv["url_name"] as string | null | undefined) ?? null,
          namespace: (rsv["namespace"] as string | null | undefined) ?? "",
          route: (rsv["route"] as string | null | undefined) ?? "",
          view: (rsv["view"] as string | null | undefined) ?? "",
          args: list(rsv["args"]),
          kwargs: (rsv["kwargs"] as Record<string, unknown> | undefined) ?? {},
        }
      : null,
    spans,
    summary: summary(o["summary"] as Raw),
    dropped: dropped
      ? { spans: (dropped["spans"] as number | undefined) ?? 0, reason: (dropped["reason"] as string | null | undefined) ?? null }
      : { spans: 0, reason: null },
  };
  return limits ? limitTrace(trace, limits, raw.length) : trace;
}

// JSON.parse reads what Python's orjson refuses: numbers past the largest double (as Infinity) and lone
// surrogate escapes ("\ud800"). The text is searched for them (cheap), and only a hit walks the values.
const SUSPECT_JSON = /[0-9][eE]\+?[0-9]{3}|[0-9]{309}|\\u[dD][89a-fA-F]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function unreadable(v: unknown): string | null {
  if (typeof v === "number") return Number.isFinite(v) ? null : "a number too large";
  if (typeof v === "string") return LONE_SURROGATE.test(v) ? "a lone surrogate in a string" : null;
  if (Array.isArray(v)) {
    for (const x of v) {
      const bad = unreadable(x);
      if (bad) return bad;
    }
  } else if (isObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      const bad = unreadable(k) ?? unreadable(x);
      if (bad) return bad;
    }
  }
  return null;
}

/** Parse a saved trace file or an API answer. Errors name the source, then the field. */
export function parseTraceText(text: string, source = "trace", limits?: Limits): Trace {
  if (limits && text.length > limits.maxTraceBytes) throw new FormatError(source, tooLargeMessage("it", text.length, limits.maxTraceBytes));
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new FormatError(source, `not valid JSON (${(e as Error).message})`);
  }
  if (SUSPECT_JSON.test(text)) {
    const bad = unreadable(data);
    if (bad) throw new FormatError(source, `not valid JSON (${bad})`);
  }
  try {
    return parseTrace(data, "trace", limits);
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(source, e.message);
    throw e;
  }
}

/** A file's bytes as text: UTF-8 only (a byte that is not is an error, as in the Python loader). */
export function decodeTraceFile(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new FormatError(source, "not valid JSON (not UTF-8 text)");
  }
}

const KIND_NAME = /^[a-z][a-z0-9_]{0,31}$/;

/** A trace's or row's `kind`: absent means "request" (files and servers from before trace kinds). */
function traceKind(o: Json, path: string): string {
  const v = field(o, "kind");
  if (v === undefined || v === null) return "request";
  if (typeof v !== "string" || !KIND_NAME.test(v)) fail(join(path, "kind"), 'a trace kind such as "request" or "websocket"', v);
  return v;
}

export function parseRow(v: unknown, path: string): ListRow {
  const o = obj(v, path);
  return {
    id: traceId(o, "id", path),
    kind: traceKind(o, path),
    started_at: str(o, "started_at", path, ""),
    method: str(o, "method", path),
    path: str(o, "path", path),
    event: strOrNull(o, "event", path),
    status: numOrNull(o, "status", path, { int: true }),
    duration_ns: numOrNull(o, "duration_ns", path, { min: 0 }),
    queries: num(o, "queries", path, { int: true, min: 0, dflt: 0 }),
    duplicates: num(o, "duplicates", path, { int: true, min: 0, dflt: 0 }),
    n_plus_one: num(o, "n_plus_one", path, { int: true, min: 0, dflt: 0 }),
    error: strOrNull(o, "error", path),
    view: strOrNull(o, "view", path),
    url_name: strOrNull(o, "url_name", path),
    query: str(o, "query", path, ""),
    user: strOrNull(o, "user", path),
    sql: strings(o, "sql", path),
    templates: strings(o, "templates", path),
  };
}

/** A row's list of strings (`sql`, `templates`); absent (an older server): []. */
function strings(o: Json, key: string, path: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) fail(join(path, key), "an array of strings", v);
  return v as string[];
}

/**
 * The list endpoint's answer, `{"traces": [row, ...], "dropped_events": N, ...}` (docs/trace-format.md,
 * "HTTP endpoints"). A row that does not validate is left out with a warning, as in a backlog frame.
 */
export function parseTraceList(text: string, source: string): { rows: ListRow[]; droppedEvents: number | null; warnings: string[] } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new FormatError(source, `not valid JSON (${(e as Error).message})`);
  }
  const warnings: string[] = [];
  const rows: ListRow[] = [];
  try {
    const o = obj(data, "answer");
    for (const [i, r] of arrField(o, "traces", "answer").entries()) {
      try {
        rows.push(parseRow(r, `traces[${i}]`));
      } catch (err) {
        warnings.push(`${source}: ${errorText(err)}`);
      }
    }
    const dropped = o["dropped_events"];
    return { rows, droppedEvents: typeof dropped === "number" && Number.isSafeInteger(dropped) && dropped >= 0 ? dropped : null, warnings };
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(source, e.message);
    throw e;
  }
}

/** A trace.end whose trace failed validation keeps its row (so the list completes) with trace null. */
export type ParsedEvent =
  | Exclude<LiveEvent, { e: "trace.end" }>
  | { e: "trace.end"; trace_id: string; row: ListRow; trace: Trace | null };

export type ParsedMessage =
  | Exclude<ServerMessage, { type: "events" }>
  | { type: "events"; seq: number | null; events: ParsedEvent[]; dropped_events: number | null; missed_events: number | null };

/** How parseEvent treats trace.end: its trace is left out (null) when the frame was over maxTraceBytes. */
interface EventOptions {
  limits?: Limits;
  frameBytes: number;
  /** Where the refusals by the limits go (not malformed data: the server sent a valid, big trace). */
  notices?: string[];
}

export function parseEvent(v: unknown, path: string, warnings: string[], opts: EventOptions = { frameBytes: 0 }): ParsedEvent {
  const o = obj(v, path);
  const e = field(o, "e");
  const trace_id = traceId(o, "trace_id", path);
  switch (e) {
    case "trace.start":
      return { e, trace_id, row: parseRow(field(o, "row"), join(path, "row")) };
    case "span.start":
    case "span.end":
      return { e, trace_id, span: parseSpan(field(o, "span"), join(path, "span")) };
    case "trace.end": {
      const row = parseRow(field(o, "row"), join(path, "row"));
      let trace: Trace | null = null;
      const limits = opts.limits;
      if (limits && opts.frameBytes > limits.maxTraceBytes) {
        // Not expanded: the row is kept; opening the trace asks the API, which has the same limit.
        (opts.notices ?? warnings).push(tooLargeMessage(`The live trace ${trace_id}`, opts.frameBytes, limits.maxTraceBytes));
        return { e, trace_id, row, trace };
      }
      try {
        trace = parseTrace(field(o, "trace"), join(path, "trace"), limits);
      } catch (err) {
        warnings.push(errorText(err));
      }
      return { e, trace_id, row, trace };
    }
    default:
      return fail(join(path, "e"), "an event type (trace.start, span.start, span.end, trace.end)", e);
  }
}

export interface ParseResult {
  message: ParsedMessage | null;
  warnings: string[];
  /** The frame's seq (to acknowledge), also when the rest of it could not be used. */
  seq: number | null;
  /** What the limits left out (a trace.end too large to expand): to show, not to count as malformed. */
  notices: string[];
}

/**
 * Parse one websocket text frame. Never throws: a frame that cannot be used gives message null and a
 * warning; a bad event inside an `events` batch is skipped with a warning and the rest are kept.
 */
const LAYER_STATES: readonly LayerState[] = ["up", "down", "none"];

function layerState(o: Record<string, unknown>, path: string): LayerState {
  const v = field(o, "layer");
  if (v === undefined || v === null) return "up"; // version 1: no layer reports
  if (typeof v === "string" && (LAYER_STATES as readonly string[]).includes(v)) return v as LayerState;
  return fail(join(path, "layer"), '"up", "down" or "none"', v);
}

export function parseServerMessage(text: unknown, limits?: Limits): ParseResult {
  const warnings: string[] = [];
  const notices: string[] = [];
  let seq: number | null = null;
  try {
    if (typeof text !== "string") fail("frame", "a JSON text frame", text);
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new FormatError("frame", `not valid JSON (${(e as Error).message})`);
    }
    const o = obj(data, "frame");
    const type = field(o, "type");
    // Read first, so that a frame that fails below is still acknowledged; a seq that is not a count is none.
    const rawSeq = field(o, "seq");
    if (typeof rawSeq === "number" && Number.isSafeInteger(rawSeq) && rawSeq >= 0 && (type === "events" || type === "backlog")) seq = rawSeq;
    switch (type) {
      case "hello":
        return {
          message: {
            type,
            version: num(o, "version", "hello", { int: true }),
            dropped_events: num(o, "dropped_events", "hello", { int: true, min: 0, dflt: 0 }),
            window: numOrNull(o, "window", "hello", { int: true, min: 0 }),
            layer: layerState(o, "hello"),
            kinds: parseKinds(field(o, "kinds")),
            error: strOrNull(o, "error", "hello"),
          },
          warnings,
          seq,
          notices,
        };
      case "backlog": {
        const rows = [];
        for (const [i, r] of arrField(o, "traces", "backlog").entries()) {
          try {
            rows.push(parseRow(r, `backlog.traces[${i}]`));
          } catch (err) {
            warnings.push(errorText(err));
          }
        }
        return { message: { type, seq, traces: rows }, warnings, seq, notices };
      }
      case "events": {
        const events: ParsedEvent[] = [];
        const opts: EventOptions = { frameBytes: (text as string).length, notices, ...(limits ? { limits } : {}) };
        for (const [i, ev] of arrField(o, "events", "events").entries()) {
          try {
            events.push(parseEvent(ev, `events.events[${i}]`, warnings, opts));
          } catch (err) {
            warnings.push(errorText(err));
          }
        }
        return {
          message: {
            type,
            seq,
            events,
            dropped_events: numOrNull(o, "dropped_events", "events", { int: true, min: 0 }),
            missed_events: numOrNull(o, "missed_events", "events", { int: true, min: 0 }),
          },
          warnings,
          seq,
          notices,
        };
      }
      case "status":
        return { message: { type, layer: layerState(o, "status"), error: strOrNull(o, "error", "status") }, warnings, seq, notices };
      case "pong":
        return { message: { type }, warnings, seq, notices };
      case "error":
        return { message: { type, error: isObject(o) ? str(o, "error", "error", "unknown error") : "" }, warnings, seq, notices };
      default:
        return fail("frame.type", "hello, backlog, events, status, pong or error", type);
    }
  } catch (err) {
    warnings.push(errorText(err));
    return { message: null, warnings, seq, notices };
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
