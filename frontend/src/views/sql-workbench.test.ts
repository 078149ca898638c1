// @vitest-environment happy-dom
import { describe, expect, it, vi } from "vitest";
import type { Span, Trace } from "../lib/trace-format";
import { renderSpanDetail } from "./span-detail";
import { copyText, type ExplainContext } from "./sql-workbench";

const HOSTILE = "<img src=x onerror=alert(1)>";

function sqlSpan(vendor: string, sql = `SELECT "a"."id" FROM "a" WHERE "a"."name" = %s`): Span {
  return { id: 5, parent_id: 2, kind: "sql", name: sql.slice(0, 120), start_ns: 0, duration_ns: 1_000, attrs: { sql, params: [HOSTILE], alias: "default", vendor, rows: 1, many: false } };
}

function trace(span: Span): Trace {
  return {
    id: "t1",
    spans: [span],
    summary: { duplicate_groups: [], n_plus_one_groups: [], similar_groups: [{ key: "SELECT a", count: 3, total_ns: 3000, span_ids: [5], fingerprints: 2 }] },
  } as unknown as Trace;
}

function context(answer: (url: string, init: RequestInit) => Response): { ctx: ExplainContext; calls: [string, RequestInit][] } {
  const calls: [string, RequestInit][] = [];
  const fetchFn = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    calls.push([String(input), init ?? {}]);
    return Promise.resolve(answer(String(input), init ?? {}));
  };
  return { ctx: { apiBase: "/__lifecycle__/api/", csrfToken: "tok", fetch: fetchFn as typeof fetch }, calls };
}

const json = (body: unknown, status = 200): Response => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
const q = (root: HTMLElement, testid: string) => root.querySelector<HTMLElement>(`[data-testid="${testid}"]`);
const settle = () => new Promise((r) => setTimeout(r, 0));

describe("SQL workbench", () => {
  it("shows the SQL with its parameters written in, as text, and a similar group beside the duplicates", () => {
    const span = sqlSpan("postgresql");
    const root = renderSpanDetail(span, trace(span));
    expect(q(root, "sql-readable")?.textContent).toBe(`SELECT "a"."id"\nFROM "a"\nWHERE "a"."name" = '${HOSTILE}'`);
    expect(root.querySelector("img")).toBeNull();
    expect(q(root, "detail-similar")?.textContent).toContain("3 queries of the same shape");
    expect(q(root, "explain")).toBeNull(); // no API to ask: no button
  });

  it("asks for EXPLAIN with the trace and span ids only, on click, and shows the plan as text", async () => {
    const span = sqlSpan("sqlite");
    const { ctx, calls } = context(() =>
      json({ vendor: "sqlite", alias: "default", analyze: false, statement: "EXPLAIN QUERY PLAN", columns: ["id", "parent", "notused", "detail"], rows: [[2, 0, 0, `SCAN a ${HOSTILE}`], [5, 2, 0, "USE TEMP B-TREE"]], truncated: false }),
    );
    const root = renderSpanDetail(span, trace(span), ctx);
    expect(calls).toEqual([]); // nothing runs without a click
    expect(q(root, "explain-analyze-arm")).toBeNull(); // SQLite has no EXPLAIN ANALYZE
    q(root, "explain")?.click();
    await settle();
    expect(calls).toHaveLength(1);
    const [url, init] = calls[0] as [string, RequestInit];
    expect(url).toBe("/__lifecycle__/api/traces/t1/spans/5/explain/");
    expect(init.method).toBe("POST");
    expect((init.headers as Record<string, string>)["X-CSRFToken"]).toBe("tok");
    expect(init.body).toBe("");
    expect(q(root, "explain-plan")?.textContent).toBe(`SCAN a ${HOSTILE}\n  └ USE TEMP B-TREE`);
    expect(root.querySelector("img")).toBeNull();
  });

  it("runs EXPLAIN ANALYZE on PostgreSQL only after a second, explicit click", async () => {
    const span = sqlSpan("postgresql");
    const { ctx, calls } = context((_url, init) =>
      json({ vendor: "postgresql", alias: "default", analyze: init.body === "analyze=1", statement: "EXPLAIN (ANALYZE, BUFFERS)", columns: ["QUERY PLAN"], rows: [["Seq Scan on a (actual time=0.01..0.02 rows=1 loops=1)"]], truncated: false }),
    );
    const root = renderSpanDetail(span, trace(span), ctx);
    expect(q(root, "explain-analyze")?.hidden).toBe(true);
    q(root, "explain-analyze-arm")?.click();
    await settle();
    expect(calls).toEqual([]);
    q(root, "explain-analyze")?.click();
    await settle();
    expect(calls.map(([, init]) => init.body)).toEqual(["analyze=1"]);
    expect(q(root, "explain-result")?.dataset["analyze"]).toBe("true");
    expect(q(root, "explain-plan")?.textContent).toContain("actual time");
  });

  it("shows the server's refusal", async () => {
    const span = sqlSpan("postgresql");
    const { ctx } = context(() => json({ error: `Parameter 1 was redacted ${HOSTILE}` }, 400));
    const root = renderSpanDetail(span, trace(span), ctx);
    q(root, "explain")?.click();
    await settle();
    expect(q(root, "explain-error")?.textContent).toBe(`Parameter 1 was redacted ${HOSTILE}`);
    expect(root.querySelector("img")).toBeNull();
  });

  it("offers no EXPLAIN for a statement that is not a SELECT", () => {
    const span = sqlSpan("postgresql", "UPDATE a SET b = %s");
    const { ctx } = context(() => json({}));
    expect(q(renderSpanDetail(span, trace(span), ctx), "explain")).toBeNull();
  });

  it("copies with the Clipboard API, or falls back to a selected textarea", async () => {
    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(window.navigator, "clipboard", { value: { writeText }, configurable: true });
    Object.defineProperty(window, "isSecureContext", { value: true, configurable: true });
    expect(await copyText("SELECT 1")).toBe(true);
    expect(writeText).toHaveBeenCalledWith("SELECT 1");
    Object.defineProperty(window, "isSecureContext", { value: false, configurable: true });
    const exec = vi.fn(() => true);
    (document as unknown as { execCommand: unknown }).execCommand = exec;
    expect(await copyText("SELECT 2")).toBe(true);
    expect(exec).toHaveBeenCalledWith("copy");
    expect(document.querySelector(".copy-buffer")).toBeNull();
  });
});
