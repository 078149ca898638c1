import { describe, expect, it } from "vitest";
import { callChain, chainText, templateStackOf } from "./call-chain";
import { span } from "./test-helpers";

const CARD = { template: "shop/_card.html", file: "shop/templates/shop/_card.html", line: 7, source: "{{ card.image.url }}" };
const LIST = { template: "shop/book_list.html", file: "shop/templates/shop/book_list.html", line: 12, source: "{% include %}" };

describe("call chains", () => {
  it("reads template lines, then Python frames, as the replay messages print them", () => {
    const lines = callChain([CARD, LIST], [["demo_site/shop/views.py", 45, "book_list"]]);
    expect(lines.map((l) => l.kind)).toEqual(["template", "template", "frame"]);
    expect(chainText(lines)).toBe(
      "shop/_card.html:7 `{{ card.image.url }}` in shop/book_list.html:12 `{% include %}` in demo_site/shop/views.py:45 book_list",
    );
  });

  it("names a comprehension after its function", () => {
    expect(chainText(callChain([], [["v.py", 8, "<listcomp>"], ["v.py", 8, "books"]]))).toBe("v.py:8 books");
  });

  it("keeps the template lines of a span's attributes and skips junk", () => {
    const s = span(1, 0, 0, 1, "sql");
    s.attrs["template_stack"] = [CARD, "junk", null, { line: 3 }];
    expect(templateStackOf(s)).toEqual([CARD, { template: "", file: "", line: 3, source: "" }]);
    s.attrs["template_stack"] = "nope";
    expect(templateStackOf(s)).toEqual([]);
  });
});
