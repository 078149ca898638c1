// The trace format, version 1, and the live protocol: mirrors docs/trace-format.md and lifecycle/trace.py.
// One shape everywhere: websocket, saved files, replay. Validation lives in trace-parse.ts.

export const TRACE_FORMAT = "lifecycle-trace";
export const TRACE_VERSION = 1;

/** A user-code stack frame: [file, line, function], innermost first in a stack. */
export type Frame = [file: string, line: number, func: string];

/** Span kinds known to the UI. The kind is data, not a class: unknown kinds must still render. */
export const KNOWN_KINDS = [
  "request",
  "middleware",
  "resolve",
  "view",
  "sql",
  "template",
  "cache",
  "exception",
] as const;
export type KnownKind = (typeof KNOWN_KINDS)[number];

export interface Span {
  id: number;
  /** null only for span 0, the `request` span (and orphans in broken data). */
  parent_id: number | null;
  kind: string;
  name: string;
  /** Offset from the trace start (monotonic clock), ns. */
  start_ns: number;
  /** null while the span is open. */
  duration_ns: number | null;
  /** Per-kind attributes (see the table in docs/trace-format.md); free-form JSON. */
  attrs: Record<string, unknown>;
}

export interface RequestInfo {
  method: string;
  path: string;
  /** Redacted query string. */
  query: string;
  /** Redacted headers. */
  headers: Record<string, string>;
  /** Body (<= MAX_BODY bytes, redacted form fields) or null. */
  body: string | null;
  /** Why the body was not kept: "too large", "binary", "secret". */
  body_omitted: string | null;
  content_type: string;
  user: { id: number | string | null; username: string } | null;
  scheme: string;
}

export interface ResponseInfo {
  status: number;
  headers: Record<string, string>;
  size: number | null;
  streaming: boolean;
}

export interface ResolverInfo {
  url_name: string | null;
  namespace: string;
  route: string;
  view: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
}

/** Same fingerprint run more than once (N+1 signal). */
export interface DuplicateGroup {
  /** Fingerprint key, 12 hex. */
  fp: string;
  /** Normalized SQL. */
  fingerprint: string;
  count: number;
  total_ns: number;
  span_ids: number[];
  /** How many of them also had identical params. */
  identical: number;
  n_plus_one: boolean;
  /** User frames of the repeating call site, innermost first. */
  stack: Frame[];
}

/** Same statement shape on the same tables, several fingerprints. */
export interface SimilarGroup {
  key: string;
  pattern: string;
  count: number;
  total_ns: number;
  span_ids: number[];
}

export interface Summary {
  /** Span count per kind. */
  counts: Record<string, number>;
  /** Sum of span durations per kind, ns. */
  time_ns: Record<string, number>;
  queries: number;
  duplicate_groups: DuplicateGroup[];
  similar_groups: SimilarGroup[];
  /** Number of duplicate groups flagged n_plus_one. */
  n_plus_one: number;
  status: number | null;
  /** "ValueError: boom" or null. */
  error: string | null;
}

export interface Trace {
  format: typeof TRACE_FORMAT;
  version: typeof TRACE_VERSION;
  /** 16 hex chars. */
  id: string;
  /** Wall clock, UTC, ISO 8601. */
  started_at: string;
  /** null while the request is running. */
  duration_ns: number | null;
  request: RequestInfo;
  response: ResponseInfo | null;
  resolver: ResolverInfo | null;
  /** Flat list, parents before children, ordered by start. */
  spans: Span[];
  summary: Summary;
  /** Spans not kept (MAX_SPANS reached). */
  dropped: { spans: number; reason: string | null };
  /** Set by the dashboard, never part of a file or an API answer: it kept only the first spans. */
  cut?: TraceCut;
}

/** What the dashboard left out of a trace to stay within its limits (DashboardConfig.maxSpans, maxDepth). */
export interface TraceCut {
  /** Spans the trace has. */
  spans: number;
  /** Spans the dashboard kept of the list: the first ones (maxSpans). */
  kept: number;
  /** Of those, spans not shown because they are nested deeper than `maxDepth` levels. */
  tooDeep: number;
  maxDepth: number;
}

/** What the request list shows (backlog, `/api/traces/`, trace.start / trace.end). */
export interface ListRow {
  id: string;
  started_at: string;
  method: string;
  path: string;
  /** null while running. */
  status: number | null;
  /** null while running. */
  duration_ns: number | null;
  queries: number;
  duplicates: number;
  n_plus_one: number;
  error: string | null;
  view: string | null;
  url_name: string | null;
}

export type LiveEvent =
  | { e: "trace.start"; trace_id: string; row: ListRow }
  | { e: "span.start"; trace_id: string; span: Span }
  | { e: "span.end"; trace_id: string; span: Span }
  | { e: "trace.end"; trace_id: string; row: ListRow; trace: Trace };

/** The newest live protocol version this dashboard speaks; version 1 servers still work. */
export const PROTOCOL_VERSION = 2;

/** The channel layer as the server sees it: "none" when the site has none (no live events). */
export type LayerState = "up" | "down" | "none";

/**
 * Server -> client websocket frames. From version 2, `backlog` and `events` frames carry a `seq` that
 * the client acknowledges (ClientMessage "ack") once it has applied them; version 1 sends no seq.
 */
export type ServerMessage =
  | { type: "hello"; version: number; dropped_events: number; window: number | null; layer: LayerState; error: string | null }
  | { type: "backlog"; seq: number | null; traces: ListRow[] }
  | {
      type: "events";
      seq: number | null;
      events: LiveEvent[];
      dropped_events: number | null;
      /** Events this connection lost because the dashboard read too slowly (cumulative; v2). */
      missed_events: number | null;
    }
  | { type: "status"; layer: LayerState; error: string | null }
  | { type: "pong" }
  | { type: "error"; error: string };

/**
 * Client -> server websocket frames. `ack` acknowledges every frame up to `seq` (it is not a command:
 * the rate limit does not count it).
 */
export type ClientMessage = { type: "ping" } | { type: "backlog" } | { type: "ack"; seq: number };

/** `GET api/traces/` */
export interface TraceListResponse {
  traces: ListRow[];
  dropped_events: number;
}

/** The config the Django view renders with json_script("lifecycle-config"). */
export interface DashboardConfig {
  /** Path relative to the host, or an absolute ws:// / wss:// URL. */
  wsUrl: string;
  /** Path prefix of the HTTP API, ending with "/". */
  apiBase: string;
  version: number;
  /** Largest trace (bytes) the dashboard reads: a file, an API answer or a live frame. */
  maxTraceBytes: number;
  /** Spans of one trace the dashboard keeps (the first ones); the rest are cut off with a notice. */
  maxSpans: number;
  /** Nesting the waterfall shows; deeper spans are cut off with a notice. */
  maxDepth: number;
}

/** The server's defaults (LIFECYCLE["DASHBOARD_MAX_TRACE_BYTES"], ["DASHBOARD_MAX_SPANS"], ["DASHBOARD_MAX_DEPTH"]). */
export const DEFAULT_LIMITS: Readonly<Pick<DashboardConfig, "maxTraceBytes" | "maxSpans" | "maxDepth">> = { maxTraceBytes: 50_000_000, maxSpans: 50_000, maxDepth: 256 };
