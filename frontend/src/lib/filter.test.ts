import { describe, expect, it } from "vitest";
import { matches, parseFilter, tokenize } from "./filter";
import { row } from "./test-helpers";

const rows = [
  row("a", { path: "/books/", status: 200, duration_ns: 10e6, queries: 21, duplicates: 20, n_plus_one: 1 }),
  row("b", { path: "/orders/", method: "POST", status: 500, duration_ns: 300e6, error: "ValueError: boom" }),
  row("c", { path: "/missing/", status: 404, duration_ns: 1e6 }),
  row("d", { path: "/books/slow/", status: null, duration_ns: null }),
];

function ids(q: string): string[] {
  const f = parseFilter(q);
  return rows.filter((r) => matches(f, r)).map((r) => r.id);
}

describe("request filter", () => {
  it("matches path substrings, case-insensitive", () => {
    expect(ids("")).toEqual(["a", "b", "c", "d"]);
    expect(ids("BOOKS")).toEqual(["a", "d"]);
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

  it("negates with -", () => {
    expect(ids("-has:error")).toEqual(["a", "c", "d"]);
    expect(ids("-books")).toEqual(["b", "c"]);
    expect(ids("books -status:running")).toEqual(["a"]);
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
