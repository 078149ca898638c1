// The right-hand pane: the selected span's details, or a hint.

import type { Span, Trace } from "../lib/trace-format";
import { h } from "./dom";
import { renderSpanDetail } from "./span-detail";
import type { ExplainContext } from "./sql-workbench";

export class DetailPane {
  readonly el: HTMLElement;
  private span: Span | null = null;
  private trace: Trace | null = null;
  private rendered = false;

  constructor(private readonly explain: ExplainContext | null = null) {
    this.el = h("aside", { class: "detail-pane", testid: "span-detail", attrs: { "aria-label": "Span details" } });
    this.update(null, null);
  }

  update(span: Span | null, trace: Trace | null): void {
    // Re-render only when the span changed (a live span.end replaces the object) or another trace
    // opened: not on every live update, which would reset the reader's text selection.
    if (this.rendered && span === this.span && trace?.id === this.trace?.id && (trace === null) === (this.trace === null)) return;
    this.rendered = true;
    this.span = span;
    this.trace = trace;
    this.el.dataset["spanId"] = span ? String(span.id) : "";
    this.el.dataset["kind"] = span ? span.kind : "";
    if (!span) {
      this.el.replaceChildren(h("p", { class: "muted empty-detail", text: "Click a span to see its details." }));
      return;
    }
    this.el.replaceChildren(renderSpanDetail(span, trace, this.explain));
  }
}
