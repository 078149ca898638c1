// Helpers for the unit tests (not bundled: only *.test.ts import it).

import bookList from "./__fixtures__/book-list-n-plus-one.json";
import orderError from "./__fixtures__/order-error-500.json";
import type { ListRow, Span } from "./trace-format";

export type Mutable = Record<string, unknown>;

/** Deep copies of the fixtures, as plain JSON to poke at. */
export function fixture(name: "book-list" | "order-error"): Mutable {
  return structuredClone(name === "book-list" ? bookList : orderError) as Mutable;
}

export function at(o: unknown, ...keys: (string | number)[]): Mutable {
  let cur: unknown = o;
  for (const k of keys) cur = (cur as Record<string | number, unknown>)[k];
  return cur as Mutable;
}

export function row(id: string, over: Partial<ListRow> = {}): ListRow {
  return {
    id,
    kind: "request",
    started_at: "2026-11-25T01:40:00.000000Z",
    method: "GET",
    path: `/p/${id}/`,
    event: null,
    status: 200,
    duration_ns: 1_000_000,
    queries: 0,
    duplicates: 0,
    n_plus_one: 0,
    error: null,
    view: null,
    url_name: null,
    query: "",
    user: null,
    sql: [],
    templates: [],
    ...over,
  };
}

export function span(id: number, parent: number | null, start: number, dur: number | null, kind = "view"): Span {
  return { id, parent_id: parent, kind, name: `${kind} ${id}`, start_ns: start, duration_ns: dur, attrs: {} };
}


/** A stand-in for the browser's WebSocket: records what is sent, and lets a test open, close and feed it. */
export class FakeSocket {
  static OPEN = 1;
  static instances: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev?: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }
  send(data: unknown): void {
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.();
  }
  closed(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  receive(data: unknown): void {
    this.onmessage?.({ data: typeof data === "string" ? data : JSON.stringify(data) });
  }
}

/** The template lines of the book-list fixture's author queries, as the server records them. */
const LINES = [
  { template: "shop/book_list.html", file: "demo_site/shop/templates/shop/book_list.html", line: 21, source: "{{ book.author.name }}" },
  { template: "shop/book_list.html", file: "demo_site/shop/templates/shop/book_list.html", line: 18, source: "{% for book in books %}" },
];

export const BOOK_LIST_LINES: readonly Mutable[] = LINES;

/** The book-list fixture as today's server writes it: template lines, N+1 groups, similar groups, self time. */
export function serverGroupsFixture(): Mutable {
  const t = fixture("book-list");
  const lines = (): Mutable[] => structuredClone(LINES);
  const spans = t["spans"] as { id: number; attrs: Record<string, unknown> }[];
  const ids = spans.filter((s) => s.id >= 9 && s.id <= 28).map((s) => s.id);
  for (const s of spans) if (ids.includes(s.id)) s.attrs["template_stack"] = lines();
  const summary = t["summary"] as Record<string, unknown>;
  const group = (summary["duplicate_groups"] as Record<string, unknown>[])[0] as Record<string, unknown>;
  group["template_stack"] = lines();
  group["sites"] = [{ count: 20, template_stack: lines(), stack: [["shop/views.py", 19, "book_list"]] }];
  summary["n_plus_one_groups"] = [
    {
      fp: group["fp"], fingerprint: group["fingerprint"], count: 20, total_ns: group["total_ns"], span_ids: ids,
      distinct_params: 10, request_span_id: 0, template_stack: lines(), stack: [["shop/views.py", 19, "book_list"]],
    },
  ];
  summary["similar_groups"] = [
    { key: "SELECT … FROM shop_book WHERE …", count: 3, total_ns: 3000, span_ids: [7, 29, 30], fingerprints: 2 },
  ];
  summary["self_time_ns"] = { request: 1_000_000, middleware: 2_000_000, view: 3_000_000, sql: 900_000, template: 4_000_000 };
  return t;
}
