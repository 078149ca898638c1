import { describe, expect, it } from "vitest";
import { kindChoice, matches, nearestKey, parseAgoMs, parseFilter, parseTimeMs, tokenize, withKind } from "./filter";
import { row } from "./test-helpers";

const rows = [
  row("a", { path: "/books/", status: 200, duration_ns: 10e6, queries: 21, duplicates: 20, n_plus_one: 1 }),
  row("b", { path: "/orders/", method: "POST", status: 500, duration_ns: 300e6, error: "ValueError: boom" }),
  row("c", { path: "/missing/", status: 404, duration_ns: 1e6 }),
  row("d", { path: "/books/slow/", status: null, duration_ns: null }),
  row("e", { kind: "websocket", method: "WS", event: "receive", path: "/ws/books/", status: null, duration_ns: 2e6 }),
];

function ids(q: string): string[] {
  const f = parseFilter(q);
  return rows.filter((r) => matches(f, r)).map((r) => r.id);
}

describe("request filter", () => {
  it("matches path substrings, case-insensitive", () => {
    expect(ids("-kind:ws")).toEqual(["a", "b", "c", "d"]);
    expect(ids("-kind:ws BOOKS")).toEqual(["a", "d"]);
    expect(ids("books slow")).toEqual(["d"]);
  });

  it("filters on status classes and codes", () => {
    expect(ids("status:5xx")).toEqual(["b"]);
    expect(ids("status:404")).toEqual(["c"]);
    expect(ids("status:2xx")).toEqual(["a"]);
    expect(ids("status:running")).toEqual(["d"]);
  });

  it("filters on method, flags and duration", () => {
    expect(ids("method:post")).toEqual(["b"]);
    expect(ids("has:n+1")).toEqual(["a"]);
    expect(ids("has:error")).toEqual(["b"]);
    expect(ids("has:dup")).toEqual(["a"]);
    expect(ids("is:running")).toEqual(["d"]);
    expect(ids("slower:200ms")).toEqual(["b"]);
    expect(ids("slower:5")).toEqual(["a", "b"]);
    expect(ids("faster:2ms")).toEqual(["c"]);
    expect(ids("slower:0.2s")).toEqual(["b"]);
  });

  it("separates websocket events from requests, and matches their event", () => {
    expect(ids("kind:websocket")).toEqual(["e"]);
    expect(ids("kind:WS")).toEqual(["e"]);
    expect(ids("kind:request")).toEqual(["a", "b", "c", "d"]);
    expect(ids("-kind:request")).toEqual(["e"]);
    expect(ids("receive")).toEqual(["e"]);
    expect(ids('"receive /ws/"')).toEqual(["e"]);
    expect(ids("books kind:websocket")).toEqual(["e"]);
    expect(parseFilter("kind:task").errors).toEqual(["kind:task: use request or websocket"]);
  });

  it("sets and reads the kind chips through the filter text", () => {
    expect(kindChoice("books")).toBe("all");
    expect(kindChoice("books kind:ws")).toBe("websocket");
    expect(kindChoice("-kind:request")).toBe("all");
    expect(withKind("books kind:request slower:5ms", "websocket")).toBe("books slower:5ms kind:websocket");
    expect(withKind('"a b" kind:websocket', "all")).toBe('"a b"');
    expect(withKind("", "request")).toBe("kind:request");
  });

  it("negates with -", () => {
    expect(ids("-kind:ws -has:error")).toEqual(["a", "c", "d"]);
    expect(ids("-kind:ws -books")).toEqual(["b", "c"]);
    expect(ids("books -status:running")).toEqual(["a", "e"]);
    expect(ids("status:5xx slower:200ms -has:n+1")).toEqual(["b"]);
  });

  it("keeps quoted text together", () => {
    expect(tokenize('a "b c" -"d e"')).toEqual(["a", '"b c"', '-"d e"']);
    expect(ids('"books/slow"')).toEqual(["d"]);
  });

  it("reports tokens it does not understand and ignores them", () => {
    const f = parseFilter("status:6xx colour:red slower:soon books");
    expect(f.errors).toHaveLength(3);
    expect(f.errors[0]).toContain("status:6xx");
    expect(f.errors[1]).toContain("unknown key");
    expect(f.terms).toHaveLength(1);
  });
});

/** Local wall-clock times of 2026-12-07 as the ISO UTC strings rows carry (whatever the test's time zone). */
function at(hh: number, mm: number, ss = 0): string {
  return new Date(2026, 11, 7, hh, mm, ss).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
const NOW = new Date(2026, 11, 7, 14, 30).getTime();

const found = [
  row("v", {
    path: "/books/",
    query: "page=2&sort=title",
    status: 200,
    started_at: at(14, 1),
    view: "shop.views.book_list",
    url_name: "book-list",
    user: "alice",
    sql: ['SELECT "shop_book"."id" FROM "shop_book" ORDER BY "shop_book"."title" ASC', 'SELECT "shop_author"."name" FROM "shop_author" WHERE "shop_author"."id" = ? LIMIT ?'],
    templates: ["shop/book_list.html", "shop/_card.html"],
  }),
  row("w", { path: "/api/books/", status: 201, method: "POST", started_at: at(14, 5), view: "shop.views.api_books", url_name: "api-books", user: "bob", sql: ['INSERT INTO "shop_book" ...'] }),
  row("x", { path: "/orders/", status: 503, started_at: at(14, 12), duration_ns: 900e6, view: "shop.views.orders", url_name: "orders" }),
  row("y", { path: "/missing/", status: 404, started_at: at(14, 28), url_name: null }),
];

function found_ids(q: string): string[] {
  const f = parseFilter(q, NOW);
  expect(f.errors).toEqual([]);
  return found.filter((r) => matches(f, r)).map((r) => r.id);
}

describe("finding any request", () => {
  it("searches the query string with the path", () => {
    expect(found_ids("page=2")).toEqual(["v"]);
    expect(found_ids('"/books/?page"')).toEqual(["v"]);
    expect(found_ids("has:query")).toEqual(["v"]);
  });

  it("filters by view, url name and user", () => {
    expect(found_ids("view:book_list")).toEqual(["v"]);
    expect(found_ids("view:shop.views")).toEqual(["v", "w", "x"]);
    expect(found_ids("url:book")).toEqual(["v", "w"]);
    expect(found_ids("url:book-list")).toEqual(["v"]);
    expect(found_ids("url_name:orders")).toEqual(["x"]);
    expect(found_ids("user:ALICE")).toEqual(["v"]);
    expect(found_ids("has:user")).toEqual(["v", "w"]);
    expect(found_ids("-has:user")).toEqual(["x", "y"]);
  });

  it("filters by SQL text and template, from what the row carries", () => {
    expect(found_ids("sql:shop_author")).toEqual(["v"]);
    expect(found_ids('sql:"INSERT INTO"')).toEqual(["w"]);
    expect(found_ids("sql:shop_book")).toEqual(["v", "w"]);
    expect(found_ids("-sql:insert")).toEqual(["v", "x", "y"]);
    expect(found_ids("template:_card")).toEqual(["v"]);
    expect(found_ids("template:book_list.html")).toEqual(["v"]);
    // One item at a time: a needle never spans two statements.
    expect(found_ids('sql:"ASC SELECT"')).toEqual([]);
  });

  it("filters by status class, code, range, comparison and lists", () => {
    expect(found_ids("status:5xx")).toEqual(["x"]);
    expect(found_ids("status:404")).toEqual(["y"]);
    expect(found_ids("status:200-299")).toEqual(["v", "w"]);
    expect(found_ids("status:>=400")).toEqual(["x", "y"]);
    expect(found_ids("status:<201")).toEqual(["v"]);
    expect(found_ids("status:404,5xx")).toEqual(["x", "y"]);
    expect(found_ids("method:post,put")).toEqual(["w"]);
  });

  it("filters by duration and time range", () => {
    expect(found_ids("slower:200ms")).toEqual(["x"]);
    expect(found_ids("faster:200ms")).toEqual(["v", "w", "y"]);
    expect(found_ids("after:14:02 before:14:10")).toEqual(["w"]);
    expect(found_ids("after:14:05")).toEqual(["w", "x", "y"]);
    expect(found_ids("before:14:05:00")).toEqual(["v"]);
    expect(found_ids("since:5m")).toEqual(["y"]);
    expect(found_ids("since:20min")).toEqual(["x", "y"]);
    expect(found_ids("since:1h")).toEqual(["v", "w", "x", "y"]);
    expect(found_ids("after:2026-12-07T14:10")).toEqual(["x", "y"]);
    expect(found_ids("before:2026-12-07")).toEqual([]);
  });

  it("reads times of day in the browser's time zone, and durations back from now", () => {
    expect(parseTimeMs("14:02", NOW)).toBe(new Date(2026, 11, 7, 14, 2).getTime());
    expect(parseTimeMs("9:05:30", NOW)).toBe(new Date(2026, 11, 7, 9, 5, 30).getTime());
    expect(parseTimeMs("2026-12-06T23:50", NOW)).toBe(new Date(2026, 11, 6, 23, 50).getTime());
    expect(parseTimeMs("25:00", NOW)).toBeNull();
    expect(parseTimeMs("2026-02-30", NOW)).toBeNull();
    expect(parseAgoMs("90s")).toBe(90_000);
    expect(parseAgoMs("2h")).toBe(7_200_000);
    expect(parseAgoMs("5")).toBeNull();
  });

  it("reports an unknown key and bad values beside the box instead of ignoring them silently", () => {
    const f = parseFilter("colour:red books tempate:_card status:6xx after:noon since:soon view:", NOW);
    expect(f.errors).toEqual([
      expect.stringMatching(/^colour: unknown key \(use status, method, view, url, sql, template, user/),
      expect.stringMatching(/^tempate: unknown key, did you mean template:\?/),
      expect.stringContaining("status:6xx: use 5xx, 404, 400-499"),
      expect.stringContaining("after:noon: use a time of day like 14:02"),
      expect.stringContaining("since:soon: use a duration like 90s"),
      "view: needs a value, e.g. view:book_list",
    ]);
    expect(f.terms.map((t) => t.text)).toEqual(["books"]);
  });
});

describe("nearestKey", () => {
  it("suggests the key a typo is closest to, and none for words far from every key", () => {
    expect(nearestKey("stauts")).toBe("status");
    expect(nearestKey("usr")).toBe("user");
    expect(nearestKey("urlname")).toBe("url");
    expect(nearestKey("colour")).toBeNull();
  });
});

