// Where a query or cache call ran: its template lines (attrs.template_stack), then its user frames
// (attrs.stack), innermost first. Mirrors lifecycle/nplusone.py `chain`, which the replay messages and
// the debug-toolbar panel print.

import type { Frame, Span, TemplateLine } from "./trace-format";

export interface ChainLine {
  kind: "template" | "frame";
  /** "shop/_card.html:7" or "demo_site/shop/views.py:45". */
  where: string;
  /** The node's source ("{{ card.image.url }}") or the function name. */
  what: string;
}

const SOURCE_CHARS = 80;

/** The template lines of a span's attributes; entries of another shape are skipped (attrs are free-form). */
export function templateStackOf(span: Span): TemplateLine[] {
  const ts = span.attrs["template_stack"];
  if (!Array.isArray(ts)) return [];
  const out: TemplateLine[] = [];
  for (const e of ts) {
    if (e === null || typeof e !== "object" || Array.isArray(e)) continue;
    const o = e as Record<string, unknown>;
    out.push({
      template: typeof o["template"] === "string" ? o["template"] : "",
      file: typeof o["file"] === "string" ? o["file"] : "",
      line: typeof o["line"] === "number" ? o["line"] : 0,
      source: typeof o["source"] === "string" ? o["source"] : "",
    });
  }
  return out;
}

function clip(text: string): string {
  return text.length > SOURCE_CHARS ? `${text.slice(0, SOURCE_CHARS - 1)}…` : text;
}

/** Template lines first, then the user frames; a comprehension frame is named after its function. */
export function callChain(templateStack: readonly TemplateLine[], stack: readonly Frame[]): ChainLine[] {
  const out: ChainLine[] = templateStack.map((t) => ({
    kind: "template",
    where: `${t.template || t.file || "?"}:${t.line}`,
    what: clip(t.source),
  }));
  for (let i = 0; i < stack.length; i++) {
    const [file, line, func] = stack[i] as Frame;
    const next = stack[i + 1];
    if (func.startsWith("<") && next && next[0] === file) {
      out.push({ kind: "frame", where: `${file}:${line}`, what: next[2] });
      if (next[1] === line) i++; // the enclosing frame says nothing more
      continue;
    }
    out.push({ kind: "frame", where: `${file}:${line}`, what: func });
  }
  return out;
}

/** One line of text, as the replay messages print it: "a.html:7 `{{ x }}` in views.py:45 view". */
export function chainText(lines: readonly ChainLine[]): string {
  return lines.map((l) => (l.kind === "template" ? (l.what ? `${l.where} \`${l.what}\`` : l.where) : `${l.where} ${l.what}`)).join(" in ");
}
