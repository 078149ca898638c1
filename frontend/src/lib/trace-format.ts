// The trace format, version 1, and the live protocol: mirrors docs/trace-format.md and lifecycle/trace.py.
// One shape everywhere: websocket, saved files, replay. What a valid file is: lifecycle/schema/trace-v1.json,
// applied by trace-schema.ts (trace-format.test.ts checks these interfaces against the schema's properties).

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

/**
 * What a trace records (`Trace.kind`, `ListRow.kind`): an HTTP request, or one event (connect, a received
 * frame, disconnect) of a Channels websocket consumer. Absent in a file or row means "request"; other
 * names may come, and are shown like requests.
 */
export type TraceKind = "request" | "websocket" | (string & {});

export interface RequestInfo {
  /** "WS" in a websocket trace; null in a block trace (`lifecycle.record()`). */
  method: string | null;
  /** Redacted path; null in a block trace. */
  path: string | null;
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
  /** A multipart body's parsed fields (body_omitted "multipart"); absent when null in the file. */
  form?: Record<string, unknown>;
  /** A block trace's label (`lifecycle.record()`). */
  block?: string;
  /** A block trace: how many requests ran inside. */
  requests?: number;
  /** Websocket traces: "connect", "receive" or "disconnect". */
  event?: string;
}

export interface ResponseInfo {
  status: number;
  /** Redacted (Set-Cookie, Authorization... "********"). */
  headers: Record<string, string>;
  size: number | null;
  streaming: boolean;
  /** A JSON or text response's body (<= RESPONSE_BODY_BYTES, redacted); null otherwise, absent in older files. */
  body?: string | null;
  /** Why the body was not kept: "HTML", "streaming", "too large (...)", "content type image/png"... */
  body_omitted?: string | null;
}

export interface ResolverInfo {
  url_name: string | null;
  namespace: string;
  route: string;
  view: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
}

/**
 * A template line a query or cache call ran under (`attrs.template_stack`, innermost first: the node
 * that ran it, then each enclosing include / extends / inclusion tag / for, up to the view's render).
 */
export interface TemplateLine {
  /** Template name ("shop/_card.html"). */
  template: string;
  /** Template file, relative to the working directory when under it. */
  file: string;
  line: number;
  /** The node's source: "{{ book.author.name }}", "{% include "x.html" %}". */
  source: string;
}

/** `attrs` of a `sql` span (docs/trace-format.md, "Spans"). */
export interface SqlAttrs {
  /** Full SQL text. */
  sql: string;
  /** Parameters as strings, redacted. */
  params: string[];
  /** Only when `params` are redacted (REDACT_SQL_PATTERNS): the same number for the same values in this trace. */
  params_id?: number;
  alias: string;
  vendor?: string;
  rows?: number | null;
  many?: boolean;
  /** Fingerprint key, 12 hex. */
  fp: string;
  stack?: Frame[];
  template_stack?: TemplateLine[];
  /** BEGIN, COMMIT, ROLLBACK and savepoint statements; absent on other queries. */
  transaction?: boolean;
  /** Only when the query raised. */
  error?: string;
}

/** How a template was rendered: by the view, `{% include %}`, `{% extends %}` or a Django 6 `{% partial %}`. */
export type TemplateVia = "render" | "include" | "extends" | "partial";

/** `attrs` of a `template` span. */
export interface TemplateAttrs {
  template: string;
  origin?: string;
  via: TemplateVia;
  /** "jinja2" for Jinja2 templates; absent for Django templates. */
  engine?: "django" | "jinja2";
}

/** `attrs` of a `cache` span. */
export interface CacheAttrs {
  op: string;
  /** Redacted key (or keys). */
  key?: string;
  /** true / false for reads (get, get_many, has_key, get_or_set and their async forms), null otherwise. */
  hit?: boolean | null;
  alias?: string;
  stack?: Frame[];
  template_stack?: TemplateLine[];
}

/** One call chain of a fingerprint: its template lines, then its user frames, with its count. */
export interface CallSite {
  count: number;
  template_stack: TemplateLine[];
  stack: Frame[];
}

/** Same fingerprint run more than once. */
export interface DuplicateGroup {
  /** Fingerprint key, 12 hex. */
  fp: string;
  /** Normalized SQL. */
  fingerprint: string;
  count: number;
  total_ns: number;
  span_ids: number[];
  /** How many of them repeat parameters already seen (count minus distinct parameter sets). */
  identical: number;
  /** Some of its queries form an N+1 group (see `Summary.n_plus_one_groups`): the server's verdict. */
  n_plus_one: boolean;
  /** User frames of its first query, innermost first. */
  stack: Frame[];
  /** Template lines of its first query, innermost first ([] outside templates). */
  template_stack: TemplateLine[];
  /** Each call chain that ran it, with its count, most first (at most 10). */
  sites: CallSite[];
}

/**
 * An N+1, by the server's one rule (lifecycle/nplusone.py): queries of one request with one fingerprint
 * and one call site (the innermost template line, else the innermost user frame), at least
 * N_PLUS_ONE_THRESHOLD of them, not all with the same parameters.
 */
export interface NPlusOneGroup {
  fp: string;
  fingerprint: string;
  count: number;
  total_ns: number;
  span_ids: number[];
  /** Distinct parameter sets among them (>= 2). */
  distinct_params: number;
  /** The request span they ran in (a block records several requests). */
  request_span_id: number;
  /** User frames of the first query, innermost first. */
  stack: Frame[];
  /** Template lines of the first query, innermost first. */
  template_stack: TemplateLine[];
}

/** Same statement shape on the same tables, several fingerprints. */
export interface SimilarGroup {
  /** The shape: statement verb and the tables it touches (older files also carry "pattern", equal to it: ignored). */
  key: string;
  count: number;
  total_ns: number;
  span_ids: number[];
  /** How many distinct fingerprints share the shape. */
  fingerprints: number;
}

export interface Summary {
  /** Span count per kind. */
  counts: Record<string, number>;
  /** Sum of span durations per kind, ns (inclusive: nested middleware layers count several times). */
  time_ns: Record<string, number>;
  /** Self time per kind, ns: each span's duration minus the time covered by its children. */
  self_time_ns: Record<string, number>;
  queries: number;
  duplicate_groups: DuplicateGroup[];
  similar_groups: SimilarGroup[];
  /** The N+1 groups found by the server; a running trace has none (only duplicates). */
  n_plus_one_groups: NPlusOneGroup[];
  /** Number of N+1 groups. */
  n_plus_one: number;
  status: number | null;
  /** "ValueError: boom" (an unhandled exception or a 5xx) or null; a 404 page is not an error. */
  error: string | null;
}

export interface Trace {
  format: typeof TRACE_FORMAT;
  version: typeof TRACE_VERSION;
  /** 16 hex chars. */
  id: string;
  /** Absent: "request". */
  kind?: TraceKind;
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
  /** How to draw each span kind of the trace (name -> style); absent in older files: built-in defaults. */
  kinds?: Record<string, KindStyle>;
  /** Set by the dashboard, never part of a file or an API answer: it kept only the first spans. */
  cut?: TraceCut;
}

/** A span kind's description as a trace carries it (`Trace.kinds`, lifecycle.kinds.describe()). */
export interface KindStyle {
  /** "SQL", "Outbound HTTP". */
  label: string;
  /** One character drawn beside the colour (colours are never the only cue). */
  symbol: string;
  /** "#rrggbb". */
  color: string;
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
  /** "request" when the server sends none (an older server). */
  kind: TraceKind;
  started_at: string;
  /** "WS" for a websocket trace. */
  method: string;
  path: string;
  /** Websocket traces: the consumer event ("connect", "receive", "disconnect"); null otherwise. */
  event: string | null;
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
  /** The redacted query string ("page=2&token=********"), cut to 200 characters; "" from older servers. */
  query: string;
  /** The username the trace records, or null (anonymous, or the site did not load the user). */
  user: string | null;
  /** Distinct SQL statements, normalized (literals as "?"), each cut to 160 chars, at most 20: what `sql:` searches. */
  sql: string[];
  /** Distinct template names, at most 20: what `template:` searches. */
  templates: string[];
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
  | {
      type: "hello";
      version: number;
      dropped_events: number;
      window: number | null;
      layer: LayerState;
      error: string | null;
      /** How each kind the server's instruments record is drawn (lifecycle.kinds); {} from older servers. */
      kinds: Record<string, { label: string; symbol: string; color: string }>;
    }
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
  /**
   * False when the server cannot carry live events (Channels not installed, or no channel layer for
   * lifecycle): the dashboard opens no websocket and polls `${apiBase}traces/` instead. Missing (an
   * older server): true.
   */
  live: boolean;
  /** Whether Django Channels is installed on the server (says why `live` is false). Missing: true. */
  channels: boolean;
  /** Django's CSRF token, sent as `X-CSRFToken` with the API's POST requests (EXPLAIN, clear). Missing (an older server): "". */
  csrfToken?: string;
}

/** The server's defaults (LIFECYCLE["DASHBOARD_MAX_TRACE_BYTES"], ["DASHBOARD_MAX_SPANS"], ["DASHBOARD_MAX_DEPTH"]). */
export const DEFAULT_LIMITS: Readonly<Pick<DashboardConfig, "maxTraceBytes" | "maxSpans" | "maxDepth">> = { maxTraceBytes: 50_000_000, maxSpans: 50_000, maxDepth: 256 };
