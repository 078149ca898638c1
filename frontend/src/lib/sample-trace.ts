// A small made-up trace with a span of every kind, an N+1 and a plain duplicate, as the JSON text of a
// saved trace file (docs/trace-format.md). The page shows it out of sight once after loading
// (views/warm-up.ts), so that the first real trace opens as fast as later ones.

import { computeSummary } from "./summary";
import { TRACE_FORMAT, TRACE_VERSION, type Span } from "./trace-format";

const STACK = [
  ["shop/models.py", 31, "__str__"],
  ["shop/templates/shop/book_list.html", 12, "render"],
  ["shop/views.py", 19, "book_list"],
];

export function sampleTraceText(): string {
  const spans: Span[] = [];
  let t = 0;
  const add = (parent: number | null, kind: string, name: string, dur: number, attrs: Record<string, unknown> = {}): number => {
    const id = spans.length;
    spans.push({ id, parent_id: parent, kind, name, start_ns: (t += 10_000), duration_ns: dur, attrs });
    return id;
  };
  const req = add(null, "request", "GET /books/", 9_000_000, { method: "GET", path: "/books/" });
  const mw = add(req, "middleware", "django.middleware.security.SecurityMiddleware", 8_800_000, {
    class: "django.middleware.security.SecurityMiddleware",
  });
  add(mw, "cache", "get session:********", 200_000, { op: "get", key: "session:********", hit: true, alias: "default" });
  add(mw, "resolve", "books/", 40_000, { route: "books/", url_name: "book-list", view: "shop.views.book_list" });
  const view = add(mw, "view", "shop.views.book_list", 8_000_000, { view: "shop.views.book_list", is_async: false });
  const sql = (parent: number, text: string, fp: string, params: unknown[]): number =>
    add(parent, "sql", text, 50_000, { sql: text, params, fp, alias: "default", vendor: "sqlite", stack: STACK });
  const books = 'SELECT "shop_book"."id", "shop_book"."title" FROM "shop_book" ORDER BY "shop_book"."title" ASC';
  sql(view, books, "f1f1f1f1f1f1", []);
  sql(view, books, "f1f1f1f1f1f1", []);
  const page = add(view, "template", "shop/book_list.html", 6_000_000, { template: "shop/book_list.html", via: "render" });
  const author = 'SELECT "shop_author"."id", "shop_author"."name" FROM "shop_author" WHERE "shop_author"."id" = %s LIMIT 21';
  for (let i = 0; i < 8; i++) sql(page, author, "f2f2f2f2f2f2", [String(i)]);
  add(page, "template", "shop/_pagination.html", 100_000, { template: "shop/_pagination.html", via: "include" });
  add(view, "exception", "ValueError: sample", 0, { type: "ValueError", message: "sample", handled: true });
  const summary = computeSummary(spans, 200, null);
  for (const g of summary.duplicate_groups) g.n_plus_one = g.fp === "f2f2f2f2f2f2";
  summary.n_plus_one = 1;
  return JSON.stringify({
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    id: "0000sample000000",
    started_at: "2026-01-01T00:00:00.000000Z",
    duration_ns: 9_000_000,
    request: {
      method: "GET",
      path: "/books/",
      query: "page=2",
      headers: { "User-Agent": "Mozilla/5.0" },
      body: null,
      content_type: "",
      user: { id: 1, username: "sample" },
      scheme: "http",
    },
    response: { status: 200, headers: { "Content-Type": "text/html; charset=utf-8" }, size: 5120, streaming: false },
    resolver: { url_name: "book-list", namespace: "", route: "books/", view: "shop.views.book_list", args: [], kwargs: {} },
    spans,
    summary,
    dropped: { spans: 0, reason: null },
  });
}
