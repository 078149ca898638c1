import { describe, expect, it } from "vitest";
import { selectListRange, sqlLabel, tokenizeSql } from "./sql-tokenize";

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

describe("sqlLabel", () => {
  it("folds the column list of a SELECT", () => {
    expect(sqlLabel('SELECT "shop_author"."id", "shop_author"."name" FROM "shop_author" WHERE "shop_author"."id" = %s LIMIT 21')).toBe(
      'SELECT … FROM "shop_author" WHERE "shop_author"."id" = %s LIMIT 21',
    );
    expect(sqlLabel('SELECT DISTINCT "a"."x", "a"."y"\n  FROM "a"')).toBe('SELECT DISTINCT … FROM "a"');
  });

  it("keeps short lists, other statements, and collapses whitespace", () => {
    expect(sqlLabel('SELECT COUNT(*) AS "__count" FROM "shop_book"')).toBe('SELECT COUNT(*) AS "__count" FROM "shop_book"');
    expect(sqlLabel('SELECT "shop_book"."id" FROM "shop_book"')).toBe('SELECT "shop_book"."id" FROM "shop_book"');
    expect(sqlLabel('UPDATE "t"\n\tSET "a" = %s /* note */ WHERE "id" = %s')).toBe('UPDATE "t" SET "a" = %s WHERE "id" = %s');
    expect(sqlLabel("BEGIN")).toBe("BEGIN");
    expect(sqlLabel("")).toBe("");
  });

  it("folds a SELECT cut before its FROM (names are the first 120 characters)", () => {
    const name = 'SELECT "shop_book"."id", "shop_book"."title", "shop_book"."author_id", "shop_book"."price", "shop_book"."pub';
    expect(sqlLabel(name)).toBe("SELECT …");
    // a FROM inside a subquery is not the statement's
    expect(sqlLabel('SELECT (SELECT max("x") FROM "u") AS "m", "t"."a", "t"."b", "t"."c", "t"."d" FROM "t"')).toBe('SELECT … FROM "t"');
  });

  it("stays bounded on huge statements", () => {
    const sql = `INSERT INTO "t" ("a") VALUES ${Array.from({ length: 5000 }, (_, i) => `(${i})`).join(", ")}`;
    const label = sqlLabel(sql);
    expect(label.length).toBeLessThanOrEqual(240);
    expect(label.startsWith('INSERT INTO "t" ("a") VALUES (0), (1)')).toBe(true);
    expect(label.endsWith("…")).toBe(true);
    const wide = `SELECT ${Array.from({ length: 400 }, (_, i) => `"t"."c${i}"`).join(", ")} FROM "t"`;
    expect(sqlLabel(wide)).toBe("SELECT …");
  });
});
