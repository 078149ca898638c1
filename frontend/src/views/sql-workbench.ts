// The SQL workbench of a query's detail: the statement with its parameters written in (for reading), a
// copy button, and EXPLAIN on click (EXPLAIN ANALYZE on PostgreSQL behind a second, explicit click).
// The server is sent a trace id and a span id, never SQL. Plans, SQL and errors become text nodes only:
// SQL text from traces is hostile input.

import { formatSql, inlineParams } from "../lib/sql-inline";
import type { Span, Trace } from "../lib/trace-format";
import { h } from "./dom";
import { renderSql } from "./sql-view";

/** Where EXPLAIN is asked for: the dashboard's API (DashboardConfig.apiBase, csrfToken). */
export interface ExplainContext {
  apiBase: string;
  csrfToken: string | null;
  fetch: typeof fetch;
}

/** The endpoint's answer (lifecycle/explain.py). */
export interface ExplainResult {
  vendor: string;
  alias: string;
  analyze: boolean;
  statement: string;
  columns: string[];
  rows: unknown[][];
  truncated: boolean;
}

const EXPLAINABLE_VENDORS = new Set(["postgresql", "sqlite"]);

/** Whether the server may explain this span: a recorded single SELECT on PostgreSQL or SQLite. */
export function explainable(span: Span): boolean {
  const a = span.attrs;
  return (
    span.kind === "sql" &&
    typeof a["sql"] === "string" &&
    /^[\s(]*select\b/i.test(a["sql"]) &&
    a["many"] !== true &&
    typeof a["vendor"] === "string" &&
    EXPLAINABLE_VENDORS.has(a["vendor"])
  );
}

export async function requestExplain(ctx: ExplainContext, traceId: string, spanId: number, analyze: boolean): Promise<ExplainResult> {
  const url = `${ctx.apiBase}traces/${encodeURIComponent(traceId)}/spans/${spanId}/explain/`;
  const headers: Record<string, string> = { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" };
  if (ctx.csrfToken) headers["X-CSRFToken"] = ctx.csrfToken;
  let response: Response;
  try {
    response = await ctx.fetch(url, { method: "POST", headers, body: analyze ? "analyze=1" : "", credentials: "same-origin" });
  } catch (e) {
    throw new Error(`EXPLAIN request failed: ${(e as Error).message}`, { cause: e });
  }
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: the status says it
  }
  const obj = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  if (!response.ok || typeof obj["error"] === "string") {
    throw new Error(typeof obj["error"] === "string" ? obj["error"] : `EXPLAIN failed: HTTP ${response.status}`);
  }
  if (!Array.isArray(obj["columns"]) || !Array.isArray(obj["rows"])) throw new Error("EXPLAIN answered without a plan");
  return obj as unknown as ExplainResult;
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** A plan as inert text: PostgreSQL's one "QUERY PLAN" column as lines, SQLite's rows as a tree of details. */
export function renderPlan(result: ExplainResult): HTMLElement {
  const box = h("div", { class: "explain-result", testid: "explain-result" });
  box.dataset["analyze"] = String(result.analyze);
  box.appendChild(h("p", { class: "muted", text: `${result.statement} on ${result.vendor} (alias ${result.alias})` }));
  const cols = result.columns;
  if (cols.length === 1) {
    box.appendChild(h("pre", { class: "sql explain-plan", testid: "explain-plan", text: result.rows.map((r) => cellText(r[0])).join("\n") }));
  } else if (cols.includes("detail") && cols.includes("id") && cols.includes("parent")) {
    // SQLite's EXPLAIN QUERY PLAN: (id, parent, notused, detail) rows, a tree by parent.
    const [id, parent, detail] = [cols.indexOf("id"), cols.indexOf("parent"), cols.indexOf("detail")];
    const depth = new Map<unknown, number>();
    const lines = result.rows.map((r) => {
      const d = (depth.get(r[parent]) ?? -1) + 1;
      depth.set(r[id], d);
      return `${"  ".repeat(d)}${d ? "└ " : ""}${cellText(r[detail])}`;
    });
    box.appendChild(h("pre", { class: "sql explain-plan", testid: "explain-plan", text: lines.join("\n") }));
  } else {
    const table = h("table", { class: "kv explain-table", testid: "explain-plan" });
    table.appendChild(h("tr", {}, ...cols.map((c) => h("th", { text: c }))));
    for (const r of result.rows) table.appendChild(h("tr", {}, ...r.map((v) => h("td", { text: cellText(v) }))));
    box.appendChild(table);
  }
  if (result.truncated) box.appendChild(h("p", { class: "muted", text: "The plan was cut to its first rows." }));
  return box;
}

/** Copies `text`: the Clipboard API, else a selected textarea and execCommand (plain http, older browsers). */
export async function copyText(text: string, doc: Document = document): Promise<boolean> {
  try {
    if (doc.defaultView?.navigator.clipboard && doc.defaultView.isSecureContext) {
      await doc.defaultView.navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // denied: try the old way
  }
  const area = doc.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "copy-buffer";
  doc.body.appendChild(area);
  area.select();
  let ok: boolean;
  try {
    ok = doc.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

function button(text: string, testid: string, title: string): HTMLButtonElement {
  return h("button", { class: "sql-action", text, title, testid, attrs: { type: "button" } });
}

/** The readable SQL (parameters written in, one clause a line) with its copy button. */
function readableSection(span: Span): HTMLElement {
  const a = span.attrs;
  const sql = typeof a["sql"] === "string" ? a["sql"] : span.name;
  const params = Array.isArray(a["params"]) && a["many"] !== true ? (a["params"] as unknown[]) : [];
  const vendor = typeof a["vendor"] === "string" ? a["vendor"] : "";
  const text = formatSql(inlineParams(sql, params, vendor));
  const status = h("span", { class: "muted copy-status", testid: "copy-status", attrs: { "aria-live": "polite" } });
  const copy = button("Copy", "copy-sql", "Copy this SQL (parameters written in)");
  copy.addEventListener("click", () => {
    void copyText(text).then((ok) => {
      status.textContent = ok ? "Copied" : "Copy failed: select the text and copy it";
    });
  });
  const pre = renderSql(text, { fold: false });
  pre.dataset["testid"] = "sql-readable";
  return h(
    "section",
    { class: "detail-section" },
    h("h3", { text: "SQL with parameters (for reading)" }),
    h("p", { class: "muted", text: "Quoted for reading: the query ran with bound parameters." }),
    pre,
    h("div", { class: "sql-actions" }, copy, status),
  );
}

/** EXPLAIN, and on PostgreSQL EXPLAIN ANALYZE behind an explicit second click. Nothing runs before a click. */
function explainSection(span: Span, trace: Trace, ctx: ExplainContext): HTMLElement {
  const vendor = String(span.attrs["vendor"]);
  const out = h("div", { class: "explain-out", testid: "explain-out" });
  const actions = h("div", { class: "sql-actions" });
  const run = (analyze: boolean, btn: HTMLButtonElement): void => {
    btn.disabled = true;
    out.replaceChildren(h("p", { class: "muted", testid: "explain-running", text: analyze ? "Running EXPLAIN ANALYZE…" : "Running EXPLAIN…" }));
    requestExplain(ctx, trace.id, span.id, analyze)
      .then((result) => out.replaceChildren(renderPlan(result)))
      .catch((e: unknown) => out.replaceChildren(h("p", { class: "detail-error", testid: "explain-error", text: (e as Error).message })))
      .finally(() => {
        btn.disabled = false;
      });
  };
  const explain = button("EXPLAIN", "explain", "Ask the database for this query's plan (the query is not run)");
  explain.addEventListener("click", () => run(false, explain));
  actions.appendChild(explain);
  if (vendor === "postgresql") {
    const arm = button("EXPLAIN ANALYZE…", "explain-analyze-arm", "EXPLAIN ANALYZE runs the query: asks to confirm first");
    const confirm = button("Run the query: EXPLAIN ANALYZE", "explain-analyze", "Runs the query in a read-only transaction that is rolled back, with a time limit");
    confirm.hidden = true;
    const warning = h("span", { class: "detail-warn", text: "EXPLAIN ANALYZE runs the query (read-only, rolled back, time-limited)." });
    warning.hidden = true;
    arm.addEventListener("click", () => {
      arm.hidden = true;
      confirm.hidden = false;
      warning.hidden = false;
    });
    confirm.addEventListener("click", () => run(true, confirm));
    actions.append(arm, confirm, warning);
  }
  return h("section", { class: "detail-section", testid: "explain-section" }, h("h3", { text: "Query plan" }), actions, out);
}

export function workbenchSections(span: Span, trace: Trace | null, ctx: ExplainContext | null): HTMLElement[] {
  const out = [readableSection(span)];
  if (trace && ctx && explainable(span)) out.push(explainSection(span, trace, ctx));
  return out;
}
