import { describe, expect, it } from "vitest";
import { indentPx, spanFullName, spanLabel, spanTitle } from "./span-label";
import { span } from "./test-helpers";
import type { Span } from "./trace-format";

const sql = (name: string, attrs: Record<string, unknown> = {}): Span => ({ ...span(3, 1, 2_000, 53_000, "sql"), name, attrs });

describe("span labels", () => {
  it("shortens SQL to the statement start", () => {
    const full = 'SELECT "shop_author"."id", "shop_author"."name" FROM "shop_author" WHERE "shop_author"."id" = %s LIMIT 21';
    const s = sql(full.slice(0, 120), { sql: full });
    expect(spanLabel(s)).toBe('SELECT … FROM "shop_author" WHERE "shop_author"."id" = %s LIMIT 21');
    expect(spanFullName(s)).toBe(full);
    expect(spanTitle(s)).toBe(`${full}\n53.0 µs at +2.00 µs`);
  });

  it("uses the full statement when the name was cut before FROM", () => {
    const full = `SELECT ${Array.from({ length: 12 }, (_, i) => `"shop_book"."c${i}"`).join(", ")} FROM "shop_book"`;
    expect(spanLabel(sql(full.slice(0, 120), { sql: full }))).toBe('SELECT … FROM "shop_book"');
    // a live span without its attrs: the name is all there is
    expect(spanLabel(sql(full.slice(0, 120)))).toBe("SELECT …");
  });

  it("keeps other names whole, and shows running spans", () => {
    const m = { ...span(1, 0, 0, null, "middleware"), name: "django.middleware.security.SecurityMiddleware" };
    expect(spanLabel(m)).toBe("django.middleware.security.SecurityMiddleware");
    expect(spanTitle(m)).toBe("django.middleware.security.SecurityMiddleware\nrunning at +0 ns");
    expect(spanLabel({ ...m, name: "" })).toBe("middleware");
  });

  it("indents less below six levels and caps the indent", () => {
    expect([0, 1, 6, 7, 13].map((d) => indentPx(d, 500))).toEqual([0, 8, 48, 52, 76]);
    expect(indentPx(40, 100)).toBe(100);
  });
});
