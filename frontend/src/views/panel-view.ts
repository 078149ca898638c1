// The django-debug-toolbar panel: the dashboard's trace view (summary chips with the self time per kind,
// N+1 and duplicate groups, the waterfall) and span detail, for the one request the toolbar shows.
//
// lifecycle/templates/lifecycle/panel.html renders, with no inline script or style (a strict
// Content-Security-Policy holds):
//   <div data-lifecycle-panel data-now-ns="…" data-stylesheet="…/panel.css">
//     <script type="application/json">the trace</script>   (json_script: data, never run)
//     <div data-lifecycle-panel-view>what shows until this script runs</div>
//     … <div data-lifecycle-panel-fallback>the query groups, hidden once the trace view shows them</div>
// The views go into a shadow root of the view element, with panel.css linked inside it: the host page's
// and the toolbar's styles stay out, and the dashboard's stay in.

import { FormatError, errorText, parseTraceText } from "../lib/trace-parse";
import { DEFAULT_LIMITS, type Trace } from "../lib/trace-format";
import type { OpenTrace } from "../state";
import { DetailPane } from "./detail-pane";
import { h } from "./dom";
import { TraceView, type SpanGroup } from "./trace-view";

export class PanelView {
  readonly el: HTMLElement;
  /** Undo what reaches outside the panel (page-wide listeners, observers), once it is gone. */
  readonly disposers: (() => void)[] = [];
  readonly traceView: TraceView;
  readonly detail: DetailPane;
  private selected: number | null = null;
  private highlight: string | null = null;

  constructor(
    readonly trace: Trace,
    nowNs: number,
  ) {
    this.traceView = new TraceView({
      select: (id) => this.select(id),
      highlightGroup: (g, label) => this.highlightGroup(g, label),
    });
    this.detail = new DetailPane();
    this.el = h("div", { class: "lifecycle-panel-app", testid: "lifecycle-panel" }, this.traceView.el, this.detail.el);
    const open: OpenTrace = { id: trace.id, source: "server", fileName: null, fileText: null, base: trace, loading: false, error: null };
    this.traceView.show(trace, open, nowNs);
    // A snapshot taken while the request still ran: its open spans end at the snapshot.
    if (trace.duration_ns === null) this.traceView.tickRunning(nowNs);
  }

  dispose(): void {
    this.traceView.waterfall.dispose();
    for (const undo of this.disposers.splice(0)) undo();
  }

  select(id: number | null): void {
    this.selected = id;
    this.traceView.waterfall.setSelected(id);
    this.detail.update(id === null ? null : (this.trace.spans.find((s) => s.id === id) ?? null), this.trace);
  }

  private highlightGroup(g: SpanGroup, label: string): void {
    const same = this.highlight === label;
    this.highlight = same ? null : label;
    this.traceView.waterfall.setHighlight(same ? null : new Set(g.span_ids));
    if (!same) this.select(g.span_ids[0] ?? this.selected);
  }
}

/** The panel's trace and the snapshot's time, read from the panel's markup. */
export function readPanel(panel: HTMLElement): { trace: Trace; nowNs: number } {
  const data = panel.querySelector<HTMLScriptElement>(":scope > script[type='application/json']");
  if (!data) throw new FormatError("the panel", "no trace data in it");
  const trace = parseTraceText(data.textContent ?? "", "the panel's trace", DEFAULT_LIMITS);
  const now = Number(panel.dataset["nowNs"]);
  return { trace, nowNs: Number.isFinite(now) && now >= 0 ? now : (trace.duration_ns ?? 0) };
}

/** Copies the toolbar's theme (data-theme on #djDebug) onto the host, now and whenever it is switched. */
function followTheme(host: HTMLElement, view: PanelView): void {
  const toolbar = host.closest<HTMLElement>("#djDebug");
  if (!toolbar) return;
  const copy = (): void => {
    const theme = toolbar.dataset["theme"];
    if (theme === host.dataset["theme"]) return;
    if (theme) host.dataset["theme"] = theme;
    else delete host.dataset["theme"];
    view.traceView.waterfall.recolor();
  };
  copy();
  if (typeof MutationObserver === "undefined") return;
  const observer = new MutationObserver(copy);
  observer.observe(toolbar, { attributes: true, attributeFilter: ["data-theme"] });
  view.disposers.push(() => observer.disconnect());
}

/** Shows the panel `panel` (a [data-lifecycle-panel] element); null when it already shows. */
export function mountPanel(panel: HTMLElement, stylesheet: string): PanelView | null {
  const host = panel.querySelector<HTMLElement>("[data-lifecycle-panel-view]");
  if (!host || host.shadowRoot) return null;
  const shadow = host.attachShadow({ mode: "open" });
  const link = h("link", { attrs: { rel: "stylesheet", href: panel.dataset["stylesheet"] || stylesheet } });
  let view: PanelView;
  try {
    const { trace, nowNs } = readPanel(panel);
    view = new PanelView(trace, nowNs);
  } catch (e) {
    console.error(e);
    const text = e instanceof FormatError ? `Could not show ${e.message}` : `Could not show the trace: ${errorText(e)}`;
    shadow.replaceChildren(link, h("p", { class: "lifecycle-panel-error", testid: "lifecycle-panel-error", text }));
    return null;
  }
  // The canvas reads its colors from the stylesheet's variables: again once it has loaded.
  link.addEventListener("load", () => view.traceView.waterfall.recolor(), { once: true });
  shadow.replaceChildren(link, view.el);
  // The query groups the server wrote for a toolbar without this script: the trace view has them.
  for (const el of Array.from(panel.querySelectorAll<HTMLElement>("[data-lifecycle-panel-fallback]"))) el.hidden = true;
  followTheme(host, view);
  return view;
}

/** The panels shown, by their [data-lifecycle-panel] element. */
const shown = new Map<HTMLElement, PanelView>();

/** Shows every lifecycle panel under `scope` that does not show yet; lets go of those no longer in the
 * page (the toolbar replaces a panel's content when another request is picked in its history). */
export function mountPanels(scope: ParentNode, stylesheet: string): PanelView[] {
  for (const [panel, view] of shown) {
    if (panel.isConnected) continue;
    view.dispose();
    shown.delete(panel);
  }
  const views: PanelView[] = [];
  for (const panel of Array.from(scope.querySelectorAll<HTMLElement>("[data-lifecycle-panel]"))) {
    const view = mountPanel(panel, stylesheet);
    if (!view) continue;
    views.push(view);
    shown.set(panel, view);
  }
  return views;
}
