// Export menu beside "Save trace": the open trace as Chrome Trace Event JSON (Perfetto, speedscope) or
// OTLP/JSON (OpenTelemetry), downloaded from the trace endpoint's ?format= (lifecycle.export on the server).

import type { OpenTrace } from "../state";
import { h, toggle } from "./dom";

export const EXPORT_FORMATS = [
  { format: "chrome", label: "Chrome trace (Perfetto, speedscope)", title: "Chrome Trace Event JSON: open it at ui.perfetto.dev or speedscope.app" },
  { format: "otlp", label: "OpenTelemetry (OTLP/JSON)", title: "OTLP/JSON with OpenTelemetry's names: for Jaeger, Grafana Tempo or a collector" },
] as const;

export function exportHref(apiBase: string, traceId: string, format: string): string {
  return `${apiBase}traces/${encodeURIComponent(traceId)}/?format=${encodeURIComponent(format)}&download=1`;
}

/** Only a trace the server has finished can be converted there (not a file, not a running request). */
export function exportable(o: OpenTrace | null): o is OpenTrace {
  return o !== null && o.source === "server" && o.base !== null && o.base.duration_ns !== null;
}

export class ExportMenu {
  readonly el: HTMLDetailsElement;
  private readonly links: HTMLAnchorElement[];

  constructor() {
    this.links = EXPORT_FORMATS.map((f) => h("a", { class: "export-item", testid: `export-${f.format}`, text: f.label, title: f.title }));
    for (const a of this.links) a.addEventListener("click", () => (this.el.open = false));
    const summary = h("summary", { class: "btn", text: "Export", title: "Download the open trace for Perfetto, speedscope or OpenTelemetry" });
    this.el = h("details", { class: "export-menu", testid: "export-menu" }, summary, h("div", { class: "export-items" }, ...this.links));
    this.el.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" && this.el.open) {
        this.el.open = false;
        summary.focus();
      }
    });
    this.el.hidden = true;
  }

  update(o: OpenTrace | null, apiBase: string): void {
    const show = exportable(o);
    toggle(this.el, show);
    if (!show) {
      this.el.open = false;
      return;
    }
    EXPORT_FORMATS.forEach((f, i) => {
      const href = exportHref(apiBase, o.id, f.format);
      const link = this.links[i];
      if (link && link.getAttribute("href") !== href) link.href = href;
    });
  }
}
