// SQL shown like django-debug-toolbar: keywords bold, long SELECT lists folded to "•••" with a toggle.
// Tokens become text nodes, <b> and <span> elements: the SQL is never parsed as HTML.

import { selectListRange, tokenizeSql, type SqlToken } from "../lib/sql-tokenize";
import { h } from "./dom";

function appendTokens(parent: HTMLElement, tokens: readonly SqlToken[]): void {
  let plain = "";
  const flush = (): void => {
    if (plain) parent.appendChild(document.createTextNode(plain));
    plain = "";
  };
  for (const t of tokens) {
    if (t.type === "keyword") {
      flush();
      parent.appendChild(h("b", { class: "sql-kw", text: t.text }));
    } else if (t.type === "string" || t.type === "param" || t.type === "comment" || t.type === "number") {
      flush();
      parent.appendChild(h("span", { class: `sql-${t.type}`, text: t.text }));
    } else plain += t.text;
  }
  flush();
}

export function renderSql(sql: string, opts: { fold?: boolean } = {}): HTMLElement {
  const tokens = tokenizeSql(sql);
  const pre = h("pre", { class: "sql", testid: "sql-text" });
  const range = opts.fold === false ? null : selectListRange(tokens);
  if (!range) {
    appendTokens(pre, tokens);
    return pre;
  }
  const [a, b] = range;
  appendTokens(pre, tokens.slice(0, a));
  const folded = h("span", { class: "sql-fold" });
  appendTokens(folded, tokens.slice(a, b));
  folded.hidden = true;
  const dots = h("button", {
    class: "sql-dots",
    text: "•••",
    title: "Show the selected columns",
    attrs: { type: "button", "aria-expanded": "false" },
  });
  dots.addEventListener("click", () => {
    folded.hidden = !folded.hidden;
    dots.textContent = folded.hidden ? "•••" : "◂";
    dots.title = folded.hidden ? "Show the selected columns" : "Fold the selected columns";
    dots.setAttribute("aria-expanded", String(!folded.hidden));
  });
  pre.append(dots, folded);
  appendTokens(pre, tokens.slice(b));
  return pre;
}
