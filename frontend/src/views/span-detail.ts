// The detail pane: everything about one span, per kind, then any other attributes as a table.

import { formatBytes, formatDuration } from "../lib/format";
import { jsonPreview } from "../lib/json-preview";
import { kindClass, kindStyle, paintKindIcon } from "../lib/kinds";
import { callChain, templateStackOf } from "../lib/call-chain";
import { stackOf } from "../lib/summary";
import type { Frame, Span, TemplateAttrs, Trace } from "../lib/trace-format";
import { h, kvTable } from "./dom";
import { responseBodySection } from "./response-body";
import { renderSql } from "./sql-view";
import { workbenchSections, type ExplainContext } from "./sql-workbench";

/** Attributes shown by the per-kind sections; the rest go into the "Other attributes" table. */
const SHOWN: Record<string, string[]> = {
  request: ["method", "path"],
  middleware: ["class"],
  resolve: ["route", "url_name", "namespace", "view", "args", "kwargs", "error"],
  view: ["view", "is_async"],
  sql: ["sql", "params", "alias", "vendor", "rows", "many", "stack", "template_stack", "fp", "error", "transaction"],
  template: ["template", "origin", "via", "engine"],
  cache: ["op", "key", "hit", "alias", "stack", "template_stack"],
  exception: ["type", "message", "stack", "handled"],
  http_out: ["method", "url", "status", "request_size", "response_size", "redirects", "library", "error", "cause", "stack", "template_stack"],
};

function section(title: string, ...body: (Node | null)[]): HTMLElement {
  return h("section", { class: "detail-section" }, h("h3", { text: title }), ...body);
}

function str(v: unknown): string {
  if (v === null || v === undefined) return "–";
  return typeof v === "string" ? v : jsonPreview(v);
}

export function renderStack(frames: readonly Frame[]): HTMLElement {
  if (frames.length === 0) return h("p", { class: "muted", text: "No user frames recorded." });
  const ol = h("ol", { class: "stack", testid: "stack" });
  for (const [file, line, func] of frames) {
    ol.appendChild(h("li", {}, h("span", { class: "frame-file", text: `${file}:${line}` }), " ", h("span", { class: "frame-func", text: func })));
  }
  return ol;
}

/** Where a query or cache call ran: its template lines (if any), then its Python frames. */
function whereSections(span: Span): HTMLElement[] {
  const lines = templateStackOf(span);
  const out: HTMLElement[] = [];
  if (lines.length) {
    const ol = h("ol", { class: "stack template-stack", testid: "template-stack" });
    for (const l of callChain(lines, [])) {
      ol.appendChild(h("li", {}, h("span", { class: "frame-file", text: l.where }), " ", h("code", { class: "chain-source", text: l.what })));
    }
    out.push(section("Template lines (innermost first)", ol));
  }
  out.push(section("Stack (innermost first)", renderStack(stackOf(span))));
  return out;
}

function sqlSection(span: Span, trace: Trace | null, explain: ExplainContext | null): HTMLElement[] {
  const a = span.attrs;
  const out: HTMLElement[] = [];
  const sql = typeof a["sql"] === "string" ? a["sql"] : span.name;
  out.push(section("SQL", renderSql(sql)));
  if (typeof a["error"] === "string") out.push(h("p", { class: "detail-error", text: a["error"] }));
  if (a["transaction"] === true) out.push(h("p", { class: "muted", testid: "detail-transaction", text: "Transaction control (BEGIN, COMMIT, ROLLBACK or a savepoint): never counted as an N+1" }));
  const loop = trace?.summary.n_plus_one_groups.find((g) => g.span_ids.includes(span.id));
  if (loop) {
    const label = `N+1: run ${loop.count} times from this call site in one request (${loop.distinct_params} distinct params), ${formatDuration(loop.total_ns)} in all`;
    out.push(h("p", { class: "detail-warn", testid: "detail-n-plus-one", text: label }));
  }
  const group = trace?.summary.duplicate_groups.find((g) => g.span_ids.includes(span.id));
  if (group) {
    const flagged = group.n_plus_one && !loop && trace?.summary.n_plus_one_groups.length === 0;
    const label = `${flagged ? "N+1: " : ""}Duplicated ${group.count} times (${group.identical} with identical params), ${formatDuration(group.total_ns)} in all`;
    out.push(h("p", { class: flagged ? "detail-warn" : "muted", testid: "detail-duplicate", text: label }));
  }
  const similar = trace?.summary.similar_groups.find((g) => g.span_ids.includes(span.id));
  if (similar) {
    const label = `Similar: ${similar.count} queries of the same shape (${similar.key}) in ${similar.fingerprints} different statements, ${formatDuration(similar.total_ns)} in all`;
    out.push(h("p", { class: "muted", testid: "detail-similar", text: label }));
  }
  out.push(...workbenchSections(span, trace, explain));
  const params = Array.isArray(a["params"]) ? a["params"] : [];
  out.push(
    section(
      "Query",
      kvTable([
        ["params", params.length ? params.map(str).join(", ") : "none"],
        ["alias", str(a["alias"])],
        ["vendor", str(a["vendor"])],
        ["rows", str(a["rows"])],
        ["many", str(a["many"])],
        ["fingerprint", str(a["fp"])],
      ]),
    ),
  );
  out.push(...whereSections(span));
  return out;
}

function size(v: unknown): string {
  if (typeof v !== "number") return "unknown";
  return v < 1024 ? formatBytes(v) : `${formatBytes(v)} (${v} bytes)`;
}

/** An outbound HTTP call: what was asked, what came back (or what went wrong), and the line that called. */
function httpSections(span: Span): HTMLElement[] {
  const a = span.attrs;
  const error = typeof a["error"] === "string" ? a["error"] : null;
  const status = typeof a["status"] === "number" ? String(a["status"]) : error ? "no response" : "–";
  const rows: [string, unknown][] = [
    ["method", str(a["method"])],
    ["URL", str(a["url"] ?? span.name)],
    ["status", status],
    ["request size", size(a["request_size"])],
    ["response size", size(a["response_size"])],
  ];
  if (typeof a["redirects"] === "number") rows.push(["redirects followed", String(a["redirects"])]);
  rows.push(["library", str(a["library"])]);
  const out = [section("HTTP call", kvTable(rows, "detail-http"))];
  if (error) out.push(h("p", { class: "detail-error", testid: "detail-http-error", text: error }));
  if (typeof a["cause"] === "string") out.push(h("p", { class: "muted", testid: "detail-http-cause", text: `Caused by ${a["cause"]}` }));
  out.push(...whereSections(span));
  return out;
}

function kindSections(span: Span, trace: Trace | null, explain: ExplainContext | null): HTMLElement[] {
  const a = span.attrs;
  switch (span.kind) {
    case "sql":
      return sqlSection(span, trace, explain);
    case "template": {
      const t = a as Partial<TemplateAttrs>;
      const engine = t.engine === "jinja2" ? "Jinja2" : "Django";
      return [section("Template", kvTable([["template", str(t.template ?? span.name)], ["origin", str(t.origin)], ["via", str(t.via)], ["engine", engine]]))];
    }
    case "cache":
      return [
        section(
          "Cache",
          kvTable([
            ["op", str(a["op"])],
            ["key", str(a["key"])],
            ["hit", a["hit"] === true ? "hit" : a["hit"] === false ? "miss" : "–"],
            ["alias", str(a["alias"])],
          ]),
        ),
        ...whereSections(span),
      ];
    case "http_out":
      return httpSections(span);
    case "exception":
      return [
        section(
          "Exception",
          h("p", { class: "detail-error" }, h("b", { text: str(a["type"] ?? span.name) }), ": ", str(a["message"])),
          h("p", { class: "muted", text: a["handled"] === true ? "Handled" : "Not handled" }),
        ),
        section("Stack (innermost first)", renderStack(stackOf(span))),
      ];
    case "resolve":
      return [
        section(
          "URL resolution",
          kvTable([
            ["route", str(a["route"])],
            ["url_name", str(a["url_name"])],
            ["namespace", str(a["namespace"])],
            ["view", str(a["view"])],
            ["args", str(a["args"])],
            ["kwargs", str(a["kwargs"])],
            ...(a["error"] !== undefined ? ([["error", str(a["error"])]] as [string, unknown][]) : []),
          ]),
        ),
      ];
    case "view":
      return [section("View", kvTable([["view", str(a["view"] ?? span.name)], ["async", str(a["is_async"])]]))];
    case "middleware":
      return [section("Middleware", kvTable([["class", str(a["class"] ?? span.name)]]))];
    case "request":
      return trace ? requestSections(trace) : [];
    default:
      return [];
  }
}

function requestSections(t: Trace): HTMLElement[] {
  const r = t.request;
  const out = [
    section(
      "Request",
      kvTable([
        ["method", r.method],
        ["path", r.path],
        ["query", r.query || "–"],
        ["scheme", r.scheme || "–"],
        ["content type", r.content_type || "–"],
        ["user", r.user ? `${r.user.username} (id ${str(r.user.id)})` : "anonymous"],
        ["body", r.body ?? (r.body_omitted ? `omitted: ${r.body_omitted}` : "–")],
      ]),
    ),
  ];
  if (Object.keys(r.headers).length) out.push(section("Request headers", kvTable(Object.entries(r.headers))));
  if (t.response) {
    out.push(
      section(
        "Response",
        kvTable([
          ["status", String(t.response.status)],
          ["size", formatBytes(t.response.size)],
          ["streaming", String(t.response.streaming)],
        ]),
      ),
    );
    if (Object.keys(t.response.headers).length) out.push(section("Response headers", kvTable(Object.entries(t.response.headers), "response-headers")));
    const body = responseBodySection(t.response);
    if (body) out.push(body);
  }
  if (t.dropped.spans > 0) out.push(h("p", { class: "detail-warn", text: `${t.dropped.spans} spans not kept (${t.dropped.reason ?? "limit reached"})` }));
  return out;
}

function kindIcon(kind: string, symbol: string, label: string): HTMLElement {
  const icon = h("span", { class: `kind-icon kind-${kindClass(kind)}`, text: symbol, title: label });
  paintKindIcon(icon, kind);
  return icon;
}

/** `explain`: where the SQL workbench asks for EXPLAIN (null: no EXPLAIN button, e.g. in tests or a file). */
export function renderSpanDetail(span: Span, trace: Trace | null, explain: ExplainContext | null = null): HTMLElement {
  const style = kindStyle(span.kind);
  const root = h("div", { class: "span-detail-body" });
  root.appendChild(
    h(
      "header",
      { class: "detail-head" },
      kindIcon(span.kind, style.symbol, style.label),
      h("span", { class: "detail-kind", text: span.kind }),
      h("h2", { class: "detail-name", text: span.name || "(unnamed)" }),
    ),
  );
  root.appendChild(
    kvTable([
      ["kind", span.kind],
      ["start", `+${formatDuration(span.start_ns)}`],
      ["duration", span.duration_ns === null ? "running…" : formatDuration(span.duration_ns)],
      ["span id", String(span.id)],
      ["parent", span.parent_id === null ? "–" : String(span.parent_id)],
    ]),
  );
  for (const s of kindSections(span, trace, explain)) root.appendChild(s);
  const known = Object.hasOwn(SHOWN, span.kind);
  const shown = new Set(known ? SHOWN[span.kind] : []);
  const other = Object.entries(span.attrs).filter(([k]) => !shown.has(k));
  if (other.length) root.appendChild(section(known ? "Other attributes" : "Attributes", kvTable(other, "span-attrs")));
  return root;
}
