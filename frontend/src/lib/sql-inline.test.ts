import { describe, expect, it } from "vitest";
import { formatSql, inlineParams, literal } from "./sql-inline";

describe("inlineParams", () => {
  it("writes each recorded parameter where its placeholder is, quoted as a literal", () => {
    const sql = 'SELECT "a"."id" FROM "a" WHERE ("a"."name" = %s AND "a"."id" IN (%s, %s) AND "a"."note" IS %s)';
    expect(inlineParams(sql, ["O'Brien", "1", "2", "NULL"], "postgresql")).toBe(
      `SELECT "a"."id" FROM "a" WHERE ("a"."name" = 'O''Brien' AND "a"."id" IN (1, 2) AND "a"."note" IS NULL)`,
    );
  });

  it("leaves placeholders in strings, quoted names and comments alone, and un-doubles Django's %%", () => {
    const sql = `SELECT '%s', "%s" FROM t /* %s */ WHERE a LIKE '50%%' AND b = %s AND c = 1 %% 2`;
    expect(inlineParams(sql, ["x%%y"], "sqlite")).toBe(`SELECT '%s', "%s" FROM t /* %s */ WHERE a LIKE '50%' AND b = 'x%%y' AND c = 1 % 2`);
  });

  it("keeps the placeholders it has no parameter for", () => {
    expect(inlineParams("SELECT %s, %s", ["1"], "postgresql")).toBe("SELECT 1, %s");
    expect(inlineParams("SELECT 100 %% 7", [], "postgresql")).toBe("SELECT 100 %% 7");
  });

  it("quotes hostile text as inert data", () => {
    expect(inlineParams("SELECT %s", ["'; DROP TABLE x; --"], "postgresql")).toBe("SELECT '''; DROP TABLE x; --'");
  });
});

describe("literal", () => {
  it("reads the trace's display forms back for the vendor", () => {
    expect(literal("True", "postgresql")).toBe("TRUE");
    expect(literal("False", "sqlite")).toBe("0");
    expect(literal("-1.5e3", "sqlite")).toBe("-1.5e3");
    expect(literal("007", "sqlite")).toBe("'007'");
    expect(literal("Decimal('9.99')", "postgresql")).toBe("'9.99'");
    expect(literal("UUID('12345678-1234-5678-1234-567812345678')", "postgresql")).toBe("'12345678-1234-5678-1234-567812345678'");
    expect(literal("datetime.datetime(2026, 12, 7, 17, 0, tzinfo=datetime.timezone.utc)", "postgresql")).toBe("'2026-12-07 17:00:00+00:00'");
    expect(literal("datetime.date(2026, 1, 2)", "postgresql")).toBe("'2026-01-02'");
    expect(literal(null, "postgresql")).toBe("NULL");
    expect(literal("********", "postgresql")).toBe("'********'");
  });
});

describe("formatSql", () => {
  it("breaks lines at clauses, joins and conditions, indenting subqueries", () => {
    const sql =
      'SELECT "b"."id", "b"."title" FROM "shop_book" "b" INNER JOIN "shop_author" ON ("b"."author_id" = "shop_author"."id") ' +
      'LEFT OUTER JOIN "x" ON ("x"."id" = "b"."x_id") WHERE ("b"."price" BETWEEN 1 AND 2 AND "b"."id" IN (SELECT U0."id" FROM "y" U0 WHERE U0."ok")) ' +
      'ORDER BY "b"."title" ASC LIMIT 21';
    expect(formatSql(sql).split("\n")).toEqual([
      'SELECT "b"."id", "b"."title"',
      'FROM "shop_book" "b"',
      'INNER JOIN "shop_author"',
      '  ON ("b"."author_id" = "shop_author"."id")',
      'LEFT OUTER JOIN "x"',
      '  ON ("x"."id" = "b"."x_id")',
      'WHERE ("b"."price" BETWEEN 1 AND 2',
      '    AND "b"."id" IN (',
      '    SELECT U0."id"',
      '    FROM "y" U0',
      '    WHERE U0."ok"))',
      'ORDER BY "b"."title" ASC',
      "LIMIT 21",
    ]);
  });

  it("stays linear on a hostile statement nested very deep", () => {
    const sql = "SELECT " + "(SELECT ".repeat(5000) + "1" + ")".repeat(5000);
    const formatted = formatSql(sql);
    expect(formatted.length).toBeLessThan(sql.length * 4);
    expect(formatted.replace(/\s+/g, "")).toBe(sql.replace(/\s+/g, ""));
  });

  it("keeps every non-space character in order", () => {
    const sql = "SELECT CASE WHEN a = 1 AND b = 2 THEN 'x  y' ELSE 'z' END FROM t   WHERE  c = 'a\n b' OR d";
    const formatted = formatSql(sql);
    expect(formatted.replace(/\s+/g, "")).toBe(sql.replace(/\s+/g, ""));
    expect(formatted).toContain("'x  y'");
    expect(formatted).toContain("CASE WHEN a = 1 AND b = 2 THEN");
  });
});
