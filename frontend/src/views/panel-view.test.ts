// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import bookList from "../lib/__fixtures__/book-list-n-plus-one.json";
import { mountPanels } from "./panel-view";

/** The panel's content as lifecycle/templates/lifecycle/panel.html renders it (json_script escapes `<`). */
function panelHtml(trace: unknown, nowNs = 0): HTMLElement {
  const panel = document.createElement("div");
  panel.dataset["lifecyclePanel"] = "";
  panel.dataset["nowNs"] = String(nowNs);
  panel.dataset["stylesheet"] = "/static/lifecycle/panel.css";
  const data = document.createElement("script");
  data.type = "application/json";
  data.textContent = JSON.stringify(trace).replace(/</g, "\\u003C");
  const view = document.createElement("div");
  view.dataset["lifecyclePanelView"] = "";
  view.textContent = "fallback";
  const fallback = document.createElement("div");
  fallback.dataset["lifecyclePanelFallback"] = "";
  panel.append(data, view, fallback);
  document.body.append(panel);
  return view;
}

beforeEach(() => {
  document.body.replaceChildren();
  vi.spyOn(console, "error").mockImplementation(() => undefined);
});

afterEach(() => vi.restoreAllMocks());

describe("the toolbar panel", () => {
  it("shows the trace view and the span detail in a shadow root, with panel.css linked inside it", () => {
    const host = panelHtml(bookList);
    const [view] = mountPanels(document, "/fallback/panel.css");
    expect(view?.trace.id).toBe(bookList.id);
    const shadow = host.shadowRoot;
    expect(shadow?.querySelector("link[rel=stylesheet]")?.getAttribute("href")).toBe("/static/lifecycle/panel.css");
    expect(shadow?.querySelector("[data-testid=trace-view]")?.getAttribute("data-state")).toBe("done");
    expect(shadow?.querySelector<HTMLElement>("[data-testid=chip-self-time]")?.title).toContain("sql: ");
    expect(shadow?.querySelectorAll("[data-testid=waterfall-row]").length).toBeGreaterThan(0);
    // Nothing of the dashboard's markup lands in the page itself.
    expect(document.querySelector("[data-testid=trace-view]")).toBeNull();
    expect(document.querySelector<HTMLElement>("[data-lifecycle-panel-fallback]")?.hidden).toBe(true);
  });

  it("shows a span's detail when it is selected, and a group's first query when the group is picked", () => {
    panelHtml(bookList);
    const [view] = mountPanels(document, "");
    const sql = bookList.spans.find((s) => s.kind === "sql");
    view?.select(sql?.id ?? -1);
    expect(view?.detail.el.dataset["kind"]).toBe("sql");
    view?.select(null);
    const group = view?.traceView.el.querySelector<HTMLElement>("button.group");
    group?.click();
    const firsts = view?.trace.summary.duplicate_groups.map((g) => String(g.span_ids[0]));
    expect(firsts).toContain(view?.detail.el.dataset["spanId"]);
  });

  it("shows a snapshot taken while the request ran as running, up to the snapshot", () => {
    const running = { ...bookList, duration_ns: null, spans: bookList.spans.map((s, i) => (i === 0 ? { ...s, duration_ns: null } : s)) };
    const host = panelHtml(running, 5_000_000);
    mountPanels(document, "");
    expect(host.shadowRoot?.querySelector("[data-testid=trace-view]")?.getAttribute("data-state")).toBe("running");
    expect(host.shadowRoot?.querySelector("[data-testid=chip-total]")?.textContent).toContain("running · 5");
  });

  it("mounts each panel once: a later render event leaves a shown panel as it is", () => {
    const host = panelHtml(bookList);
    expect(mountPanels(document, "")).toHaveLength(1);
    const shown = host.shadowRoot?.lastElementChild;
    expect(mountPanels(document, "")).toHaveLength(0);
    expect(host.shadowRoot?.lastElementChild).toBe(shown);
  });

  it("lets go of a panel the toolbar replaced (another request picked in its history)", () => {
    const host = panelHtml(bookList);
    const [view] = mountPanels(document, "");
    const dispose = vi.spyOn(view!, "dispose");
    host.parentElement?.remove();
    panelHtml(bookList);
    expect(mountPanels(document, "")).toHaveLength(1);
    expect(dispose).toHaveBeenCalledOnce();
  });

  it("says what is wrong with data it cannot show", () => {
    const host = panelHtml({ ...bookList, spans: "nope" });
    expect(mountPanels(document, "")).toHaveLength(0);
    const error = host.shadowRoot?.querySelector("[data-testid=lifecycle-panel-error]")?.textContent ?? "";
    expect(error).toMatch(/^Could not show the panel's trace: .*spans/);
    expect(document.querySelector<HTMLElement>("[data-lifecycle-panel-fallback]")?.hidden).toBe(false);
  });

  it("follows the toolbar's theme", () => {
    const toolbar = document.createElement("div");
    toolbar.id = "djDebug";
    toolbar.dataset["theme"] = "dark";
    document.body.append(toolbar);
    const host = panelHtml(bookList);
    toolbar.append(host.parentElement as HTMLElement);
    mountPanels(document, "");
    expect(host.dataset["theme"]).toBe("dark");
  });
});
