import { describe, expect, it } from "vitest";
import { selectListRange, tokenizeSql } from "./sql-tokenize";

const join = (sql: string) => tokenizeSql(sql).map((t) => t.text).join("");

describe("tokenizeSql", () => {
  it("finds keywords, identifiers, strings, numbers and params", () => {
    const toks = tokenizeSql(`SELECT "shop_book"."id" FROM shop_book WHERE id = %s AND n > 2.5 -- note`).filter((t) => t.type !== "space");
    expect(toks.map((t) => [t.type, t.text])).toEqual([
      ["keyword", "SELECT"],
      ["ident", '"shop_book"'],
      ["punct", "."],
      ["ident", '"id"'],
      ["keyword", "FROM"],
      ["word", "shop_book"],
      ["keyword", "WHERE"],
      ["word", "id"],
      ["punct", "="],
      ["param", "%s"],
      ["keyword", "AND"],
      ["word", "n"],
      ["punct", ">"],
      ["number", "2.5"],
      ["comment", "-- note"],
    ]);
  });

  it("is lossless", () => {
    for (const s of [
      "select * from t where a = 'it''s' and b = ? limit 21",
      "SELECT '</script><img src=x onerror=alert(1)>' AS \"x\"",
      "INSERT INTO `t` VALUES ($1, :name, %(p)s) /* unterminated",
      "'unterminated string",
      "\u0000\u2028<>&\"'`\\",
      "",
    ]) {
      expect(join(s)).toBe(s);
    }
  });

  it("keeps hostile markup as plain text tokens", () => {
    const toks = tokenizeSql("SELECT 1 FROM t WHERE x = </script><img onerror=alert(1) src=x>");
    expect(toks.map((t) => t.text).join("")).toContain("</script><img onerror=alert(1) src=x>");
    // '<' never starts anything but a one-character punctuation token
    expect(toks.filter((t) => t.text.includes("<")).every((t) => t.type === "punct" && t.text === "<")).toBe(true);
    const str = tokenizeSql("SELECT '<img src=x onerror=alert(1)>'");
    expect(str.at(-1)).toEqual({ type: "string", text: "'<img src=x onerror=alert(1)>'" });
  });

  it("is case-insensitive for keywords", () => {
    expect(tokenizeSql("select").map((t) => t.type)).toEqual(["keyword"]);
  });
});

describe("selectListRange", () => {
  it("spans the column list of a long top-level SELECT", () => {
    const sql = 'SELECT "shop_book"."id", "shop_book"."title", "shop_book"."price" FROM "shop_book" WHERE "id" IN (SELECT "id" FROM x)';
    const toks = tokenizeSql(sql);
    const r = selectListRange(toks);
    expect(r).not.toBeNull();
    const [a, b] = r as [number, number];
    expect(toks.slice(a, b).map((t) => t.text).join("")).toBe('"shop_book"."id", "shop_book"."title", "shop_book"."price"');
  });

  it("skips short lists and non-SELECTs and respects parentheses", () => {
    expect(selectListRange(tokenizeSql("SELECT id FROM t"))).toBeNull();
    expect(selectListRange(tokenizeSql("UPDATE t SET a = 1"))).toBeNull();
    const toks = tokenizeSql("SELECT DISTINCT (SELECT max(x) FROM u) AS long_alias_name_here, other_long_column FROM t");
    const [a, b] = selectListRange(toks) as [number, number];
    expect(toks.slice(a, b).map((t) => t.text).join("")).toBe("(SELECT max(x) FROM u) AS long_alias_name_here, other_long_column");
  });
});
