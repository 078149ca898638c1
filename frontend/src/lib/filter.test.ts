import { describe, expect, it } from "vitest";
import { kindChoice, matches, parseFilter, tokenize, withKind } from "./filter";
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
