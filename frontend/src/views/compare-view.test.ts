// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "./app";
import { CompareView } from "./compare-view";
import { parseTrace } from "../lib/trace-parse";
import bookList from "../lib/__fixtures__/book-list-n-plus-one.json";
import orderError from "../lib/__fixtures__/order-error-500.json";
import { FakeSocket, row } from "../lib/test-helpers";
import { DEFAULT_LIMITS } from "../lib/trace-format";

const config = { wsUrl: "/__lifecycle__/ws/", apiBase: "/__lifecycle__/api/", version: 1, ...DEFAULT_LIMITS, live: true, channels: true };
const q = (sel: string) => document.querySelector<HTMLElement>(sel);
const qa = (sel: string) => Array.from(document.querySelectorAll<HTMLElement>(sel));
const dialog = () => q("[data-testid=compare-view]") as HTMLDialogElement;

let app: App;
let fetchMock: ReturnType<typeof vi.fn>;

beforeEach(() => {
  vi.spyOn(console, "warn").mockImplementation(() => undefined);
  history.replaceState(null, "", "/__lifecycle__/");
  FakeSocket.instances = [];
  document.body.replaceChildren();
  const root = document.createElement("div");
  root.id = "lifecycle-app";
  document.body.appendChild(root);
  fetchMock = vi.fn(async (url: string) => {
    const body = url.includes(orderError.id) ? orderError : url.includes(bookList.id) ? bookList : null;
    return body ? new Response(JSON.stringify(body), { status: 200 }) : new Response("{}", { status: 404 });
  });
  app = new App(root, config, { WebSocket: FakeSocket as unknown as typeof WebSocket, fetch: fetchMock as unknown as typeof fetch });
  app.start();
  const s = FakeSocket.instances.at(-1) as FakeSocket;
  s.open();
  s.receive({ type: "backlog", traces: [row(orderError.id, { path: "/orders/1/", status: 500 }), row(bookList.id, { path: "/books/", queries: 21 }), row("running1", { status: null, duration_ns: null })] });
  app.flush();
});

afterEach(() => {
  app.stop();
  vi.restoreAllMocks();
});

async function openBooks(): Promise<void> {
  q(`[data-testid=request-row][data-trace-id="${bookList.id}"]`)?.click();
  await vi.waitFor(() => expect(q("[data-testid=trace-view]")?.dataset["state"]).toBe("done"));
}

describe("Compare with…", () => {
  it("is offered once a finished trace is open", async () => {
    expect(q("[data-testid=compare-button]")?.hidden).toBe(true);
    await openBooks();
    expect(q("[data-testid=compare-button]")?.hidden).toBe(false);
  });

  it("lists the other finished requests, compares with the one picked, and Esc closes only the dialog", async () => {
    await openBooks();
    q("[data-testid=compare-button]")?.click();
    expect(dialog().dataset["state"]).toBe("pick");
    expect(dialog().open).toBe(true);
    // Not the open trace itself, not a running one.
    expect(qa("[data-testid=compare-pick]").map((b) => b.dataset["traceId"])).toEqual([orderError.id]);
    expect(document.activeElement?.getAttribute("data-trace-id")).toBe(orderError.id);
    q("[data-testid=compare-pick]")?.click();
    await vi.waitFor(() => expect(dialog().dataset["state"]).toBe("done"));
    expect(fetchMock).toHaveBeenCalledWith(`/__lifecycle__/api/traces/${orderError.id}/`, expect.anything());
    expect(q("[data-testid=compare-side-b]")?.textContent).toContain("POST /orders/500");
    const gone = q(`[data-testid=compare-query][data-key="a1b2c3d4e5f6"]`) as HTMLElement;
    expect(gone.dataset["change"]).toBe("gone");
    expect(gone.dataset["delta"]).toBe("-20");
    expect(qa("[data-testid=compare-kind]").length).toBeGreaterThan(3);
    // Unchanged rows wait behind a button.
    const spans = () => qa("[data-testid=compare-span]").length;
    const before = spans();
    q("[data-testid=compare-same-spans]")?.click();
    expect(spans()).toBeGreaterThan(before);

    dialog().dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(dialog().dataset["state"]).toBe("closed");
    expect(app.state.get().open?.id).toBe(bookList.id); // the page's Esc (close the trace) did not run
  });

  it("compares with a file, and refuses a broken one with the file's error", async () => {
    await openBooks();
    q("[data-testid=compare-button]")?.click();
    const bad = structuredClone(orderError) as { spans: { start_ns: unknown }[] };
    (bad.spans[1] as { start_ns: unknown }).start_ns = "soon";
    await app.compare.openFile(new File([JSON.stringify(bad)], "bad.actual.json"));
    expect(q("[data-testid=compare-error]")?.textContent).toBe('Could not open bad.actual.json: trace.spans[1].start_ns: expected an integer >= 0, got "soon"');
    expect(dialog().dataset["state"]).toBe("pick");

    const hostile = structuredClone(orderError) as { spans: { kind: string; attrs: Record<string, unknown> }[] };
    for (const s of hostile.spans) if (s.kind === "sql") s.attrs["sql"] = '<img src=x onerror="alert(1)">';
    await app.compare.openFile(new File([JSON.stringify(hostile)], "order.actual.json"));
    expect(dialog().dataset["state"]).toBe("done");
    expect(q("[data-testid=compare-side-b]")?.textContent).toContain("order.actual.json");
    expect(q("[data-testid=compare-view] img")).toBeNull();
    expect(qa("[data-testid=compare-query] .cmp-sql-text").some((c) => c.textContent === '<img src=x onerror="alert(1)">')).toBe(true);

    q("[data-testid=compare-swap]")?.click();
    expect(q("[data-testid=compare-side-a]")?.textContent).toContain("order.actual.json");
    expect((q(`[data-testid=compare-query][data-key="a1b2c3d4e5f6"]`) as HTMLElement).dataset["change"]).toBe("new");
    q("[data-testid=compare-close]")?.click();
    expect(dialog().dataset["state"]).toBe("closed");
  });
});

describe("CompareView", () => {
  it("refuses a file over the dashboard's limit before reading it", async () => {
    const reportError = vi.fn();
    const view = new CompareView({ apiBase: "/api/", fetch: fetchMock as unknown as typeof fetch, limits: { maxTraceBytes: 1000, maxSpans: 100, maxDepth: 10 }, rows: () => [], held: () => null, reportError });
    document.body.appendChild(view.el);
    view.open({ trace: parseTrace(structuredClone(bookList)), fileName: "books.json" });
    expect(q(".cmp-empty")?.textContent).toBe("No other finished request yet: open a file, or load a page of your site.");
    await view.openFile(new File(["x".repeat(5000)], "huge.actual.json"));
    const error = qa("[data-testid=compare-error]").at(-1)?.textContent ?? "";
    expect(error).toBe('huge.actual.json is too large to open (5 KB, more than the dashboard\'s limit of 1 KB, LIFECYCLE["DASHBOARD_MAX_TRACE_BYTES"]).');
    expect(reportError).toHaveBeenCalledWith(error);
    view.close();
  });
});
