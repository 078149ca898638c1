// Parsing and validation of traces, list rows and websocket frames (docs/trace-format.md).
// Missing optional fields get their documented default; a field of the wrong type is an error that names it.

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
  arr,
  arrField,
  bool,
  checkNum,
  describe,
  fail,
  field,
  isObject,
  join,
  num,
  numOrNull,
  numberMap,
  obj,
  objField,
  objOrNull,
  str,
  strOrNull,
  stringMap,
  type Json,
} from "./validate";

import { limitTrace, tooLargeMessage, type Limits } from "./trace-limits";

export { FormatError } from "./validate";

/** Ids go into API URLs: keep them to a safe alphabet (the server uses 16 hex chars). */
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

function traceId(o: Json, key: string, path: string): string {
  const v = str(o, key, path);
  if (!ID_RE.test(v)) fail(join(path, key), "an id of letters, digits, '-' or '_' (16 hex chars)", v);
  return v;
}

export function parseFrame(v: unknown, path: string): Frame {
  const a = arr(v, path);
  const [file, line, func] = a;
  if (a.length < 3 || typeof file !== "string" || typeof func !== "string") {
    fail(path, "a frame [file, line, function]", v);
  }
  const n = line === null ? 0 : checkNum(line, join(path, 1), { int: true });
  return [file, n, func];
}

export function parseStack(v: unknown, path: string): Frame[] {
  if (v === undefined || v === null) return [];
  return arr(v, path).map((f, i) => parseFrame(f, join(path, i)));
}

/** A template line of `template_stack` (in span attributes and summary groups). */
export function parseTemplateLine(v: unknown, path: string): TemplateLine {
  const o = obj(v, path);
  return {
    template: str(o, "template", path, ""),
    file: str(o, "file", path, ""),
    line: num(o, "line", path, { int: true, dflt: 0 }),
    source: str(o, "source", path, ""),
  };
}

export function parseTemplateStack(v: unknown, path: string): TemplateLine[] {
  if (v === undefined || v === null) return [];
  return arr(v, path).map((e, i) => parseTemplateLine(e, join(path, i)));
}

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

function idList(o: Json, key: string, path: string): number[] {
  const a = arrField(o, key, path, []);
  if (a.every(isId)) return a as number[];
  return a.map((x, i) => checkNum(x, join(join(path, key), i), { int: true, min: 0 }));
}

/** The fields a duplicate group and an N+1 group share: the queries of one fingerprint and their caller. */
function parseQueryGroup(o: Json, path: string): Pick<DuplicateGroup, "fp" | "fingerprint" | "count" | "total_ns" | "span_ids" | "stack" | "template_stack"> {
  const spanIds = idList(o, "span_ids", path);
  return {
    fp: str(o, "fp", path),
    fingerprint: str(o, "fingerprint", path, ""),
    count: num(o, "count", path, { int: true, min: 0, dflt: spanIds.length }),
    total_ns: num(o, "total_ns", path, { min: 0, dflt: 0 }),
    span_ids: spanIds,
    stack: parseStack(field(o, "stack"), join(path, "stack")),
    template_stack: parseTemplateStack(field(o, "template_stack"), join(path, "template_stack")),
  };
}

function parseDuplicateGroup(v: unknown, path: string): DuplicateGroup {
  const o = obj(v, path);
  return {
    ...parseQueryGroup(o, path),
    identical: num(o, "identical", path, { int: true, min: 0, dflt: 0 }),
    n_plus_one: bool(o, "n_plus_one", path, false),
    sites: arrField(o, "sites", path, []).map((c, i) => parseCallSite(c, join(join(path, "sites"), i))),
  };
}

function parseCallSite(v: unknown, path: string): CallSite {
  const o = obj(v, path);
  return {
    count: num(o, "count", path, { int: true, min: 0, dflt: 0 }),
    stack: parseStack(field(o, "stack"), join(path, "stack")),
    template_stack: parseTemplateStack(field(o, "template_stack"), join(path, "template_stack")),
  };
}

function parseNPlusOneGroup(v: unknown, path: string): NPlusOneGroup {
  const o = obj(v, path);
  return {
    ...parseQueryGroup(o, path),
    distinct_params: num(o, "distinct_params", path, { int: true, min: 0, dflt: 0 }),
    request_span_id: num(o, "request_span_id", path, { int: true, dflt: 0 }),
  };
}

function parseSimilarGroup(v: unknown, path: string): SimilarGroup {
  const o = obj(v, path);
  const spanIds = idList(o, "span_ids", path);
  return {
    key: str(o, "key", path, ""),
    count: num(o, "count", path, { int: true, min: 0, dflt: spanIds.length }),
    total_ns: num(o, "total_ns", path, { min: 0, dflt: 0 }),
    span_ids: spanIds,
    fingerprints: num(o, "fingerprints", path, { int: true, min: 0, dflt: 0 }),
  };
}

export function parseSummary(v: unknown, path: string): Summary {
  const o = obj(v, path);
  const counts = numberMap(o, "counts", path);
  const groups = arrField(o, "duplicate_groups", path, []).map((g, i) =>
    parseDuplicateGroup(g, join(join(path, "duplicate_groups"), i)),
  );
  return {
    counts,
    time_ns: numberMap(o, "time_ns", path),
    // Traces from before self time: the inclusive sums are what there is.
    self_time_ns: field(o, "self_time_ns") === undefined ? numberMap(o, "time_ns", path) : numberMap(o, "self_time_ns", path),
    queries: num(o, "queries", path, { int: true, min: 0, dflt: counts["sql"] ?? 0 }),
    duplicate_groups: groups,
    similar_groups: arrField(o, "similar_groups", path, []).map((g, i) =>
      parseSimilarGroup(g, join(join(path, "similar_groups"), i)),
    ),
    n_plus_one_groups: arrField(o, "n_plus_one_groups", path, []).map((g, i) =>
      parseNPlusOneGroup(g, join(join(path, "n_plus_one_groups"), i)),
    ),
    n_plus_one: num(o, "n_plus_one", path, {
      int: true,
      min: 0,
      dflt: groups.filter((g) => g.n_plus_one).length,
    }),
    status: numOrNull(o, "status", path, { int: true }),
    error: strOrNull(o, "error", path),
  };
}

/**
 * A trace. With `limits`, only the first `maxSpans` spans are read (the rest are neither validated nor
 * kept) and spans nested `maxDepth` deep or more are left out: Trace.cut says what was.
 */
export function parseTrace(v: unknown, path = "trace", limits?: Pick<Limits, "maxSpans" | "maxDepth">): Trace {
  const o = obj(v, path);
  const format = field(o, "format");
  if (format !== TRACE_FORMAT) fail(join(path, "format"), JSON.stringify(TRACE_FORMAT), format);
  const version = field(o, "version");
  if (version !== TRACE_VERSION) {
    throw new FormatError(
      join(path, "version"),
      `this dashboard reads trace format version ${TRACE_VERSION}, got ${describe(version)}`,
    );
  }
  const req = objField(o, "request", path);
  const reqPath = join(path, "request");
  const user = objOrNull(req, "user", reqPath);
  const res = objOrNull(o, "response", path);
  const resPath = join(path, "response");
  const rsv = objOrNull(o, "resolver", path);
  const rsvPath = join(path, "resolver");
  const spansPath = join(path, "spans");
  const raw = arrField(o, "spans", path);
  const n = limits ? Math.min(raw.length, limits.maxSpans) : raw.length;
  const spans: Span[] = new Array<Span>(n);
  // Span ids are small integers (0, 1, 2...): a bitmap finds duplicates without a Set of 10,000 numbers.
  const seenBits = new Uint8Array(n * 4 + 64);
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    const s = parseSpan(raw[i], spansPath, i);
    const id = s.id;
    let dup: boolean;
    if (id < seenBits.length) {
      dup = seenBits[id] === 1;
      seenBits[id] = 1;
    } else {
      dup = seen.has(id);
      seen.add(id);
    }
    if (dup) throw new FormatError(join(join(spansPath, i), "id"), `duplicate span id ${id}`);
    spans[i] = s;
  }
  const dropped = objOrNull(o, "dropped", path);
  const trace: Trace = {
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    id: traceId(o, "id", path),
    started_at: str(o, "started_at", path),
    duration_ns: numOrNull(o, "duration_ns", path, { min: 0 }),
    request: {
      method: str(req, "method", reqPath),
      path: str(req, "path", reqPath),
      query: str(req, "query", reqPath, ""),
      headers: stringMap(req, "headers", reqPath),
      body: strOrNull(req, "body", reqPath),
      body_omitted: strOrNull(req, "body_omitted", reqPath),
      content_type: str(req, "content_type", reqPath, ""),
      user: user
        ? {
            id: ((): number | string | null => {
              const id = field(user, "id");
              return typeof id === "number" || typeof id === "string" ? id : null;
            })(),
            username: str(user, "username", join(reqPath, "user"), ""),
          }
        : null,
      scheme: str(req, "scheme", reqPath, ""),
    },
    response: res
      ? {
          status: num(res, "status", resPath, { int: true }),
          headers: stringMap(res, "headers", resPath),
          size: numOrNull(res, "size", resPath, { min: 0 }),
          streaming: bool(res, "streaming", resPath, false),
        }
      : null,
    resolver: rsv
      ? {
          url_name: strOrNull(rsv, "url_name", rsvPath),
          namespace: str(rsv, "namespace", rsvPath, ""),
          route: str(rsv, "route", rsvPath, ""),
          view: str(rsv, "view", rsvPath, ""),
          args: arrField(rsv, "args", rsvPath, []),
          kwargs: objField(rsv, "kwargs", rsvPath, {}),
        }
      : null,
    spans,
    summary: parseSummary(field(o, "summary"), join(path, "summary")),
    dropped: dropped
      ? {
          spans: num(dropped, "spans", join(path, "dropped"), { int: true, min: 0, dflt: 0 }),
          reason: strOrNull(dropped, "reason", join(path, "dropped")),
        }
      : { spans: 0, reason: null },
  };
  return limits ? limitTrace(trace, limits, raw.length) : trace;
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
  try {
    return parseTrace(data, "trace", limits);
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(source, e.message);
    throw e;
  }
}

export function parseRow(v: unknown, path: string): ListRow {
  const o = obj(v, path);
  return {
    id: traceId(o, "id", path),
    started_at: str(o, "started_at", path, ""),
    method: str(o, "method", path),
    path: str(o, "path", path),
    status: numOrNull(o, "status", path, { int: true }),
    duration_ns: numOrNull(o, "duration_ns", path, { min: 0 }),
    queries: num(o, "queries", path, { int: true, min: 0, dflt: 0 }),
    duplicates: num(o, "duplicates", path, { int: true, min: 0, dflt: 0 }),
    n_plus_one: num(o, "n_plus_one", path, { int: true, min: 0, dflt: 0 }),
    error: strOrNull(o, "error", path),
    view: strOrNull(o, "view", path),
    url_name: strOrNull(o, "url_name", path),
  };
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
