// @vitest-environment happy-dom
// "Find any request": the row's query string, time of day and user; Clear; rows that wait while the user
// reads the list; the filter's report of what it did not understand.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "./app";
import { FakeSocket, row } from "../lib/test-helpers";
import { DEFAULT_LIMITS } from "../lib/trace-format";

const config = { wsUrl: "/__lifecycle__/ws/", apiBase: "/__lifecycle__/api/", version: 1, ...DEFAULT_LIMITS, live: true, channels: true, csrfToken: "tok-1" };
const q = (sel: string) => document.querySelector<HTMLElement>(sel);
const ids = () => Array.from(document.querySelectorAll<HTMLElement>("[data-testid=request-row]")).map((r) => r.dataset["traceId"]);

let app: App;
let fetchMock: ReturnType<typeof vi.fn>;
let clearStatus = 200;

beforeEach(() => {
  vi.spyOn(console, "warn").mockImplementation(() => undefined);
  FakeSocket.instances = [];
  document.body.replaceChildren();
  const root = document.createElement("div");
  document.body.appendChild(root);
  clearStatus = 200;
  fetchMock = vi.fn(async (url: string) =>
    url.endsWith("traces/clear/") ? new Response('{"error": "nope"}', { status: clearStatus, headers: { "Content-Type": "application/json" } }) : new Response("{}", { status: 404 }),
  );
  app = new App(root, config, { WebSocket: FakeSocket as unknown as typeof WebSocket, fetch: fetchMock as unknown as typeof fetch, location: { protocol: "https:", host: "shop.test" } });
  app.start();
  const s = FakeSocket.instances.at(-1) as FakeSocket;
  s.open();
  s.receive({ type: "hello", version: 2, dropped_events: 0 });
});

afterEach(() => {
  app.stop();
  vi.restoreAllMocks();
});

function arrive(...rows: ReturnType<typeof row>[]): void {
  const s = FakeSocket.instances.at(-1) as FakeSocket;
  s.receive({ type: "events", events: rows.map((r) => ({ e: "trace.start", trace_id: r.id, row: r })) });
  app.flush();
}

describe("the request list", () => {
  it("shows the query string, the time of day and the user", () => {
    const started = new Date(2026, 11, 7, 14, 2, 31).toISOString();
    arrive(row("a1", { path: "/books/", query: "page=2&token=********", user: "alice", started_at: started }));
    const r = q("[data-testid=request-row]");
    expect(r?.querySelector(".row-path")?.textContent).toBe("/books/");
    expect(r?.querySelector(".row-query")?.textContent).toBe("?page=2&token=********");
    expect(r?.querySelector(".row-when")?.textContent).toBe("14:02:31");
    expect(r?.querySelector(".row-user")?.textContent).toBe("alice");
  });

  it("holds new rows above while the pointer is over it, then shows them on click", () => {
    arrive(row("a1"));
    const list = q(".request-list") as HTMLElement;
    list.dispatchEvent(new Event("pointerenter"));
    arrive(row("a2"), row("a3"));
    expect(ids()).toEqual(["a1"]);
    const more = q("[data-testid=new-above]") as HTMLElement;
    expect(more.hidden).toBe(false);
    expect(more.textContent).toBe("2 new ↑");
    more.click();
    expect(ids()).toEqual(["a3", "a2", "a1"]);
    expect(more.hidden).toBe(true);
    // Still over the list: the next one waits again.
    arrive(row("a4"));
    expect(ids()).toEqual(["a3", "a2", "a1"]);
    expect(more.textContent).toBe("1 new ↑");
    // The pointer leaves (at the top): it comes in.
    list.dispatchEvent(new Event("pointerleave"));
    expect(ids()).toEqual(["a4", "a3", "a2", "a1"]);
  });

  it("counts only the waiting rows the filter lets through", () => {
    arrive(row("a1"));
    app.state.set({ filterText: "status:5xx" });
    (q(".request-list") as HTMLElement).dispatchEvent(new Event("pointerenter"));
    arrive(row("b1", { status: 500 }), row("b2", { status: 200 }));
    expect(q("[data-testid=new-above]")?.textContent).toBe("1 new ↑");
  });
});

describe("the top bar", () => {
  it("reports filter terms it does not understand beside the box", () => {
    const input = q("[data-testid=filter-input]") as HTMLInputElement;
    const report = q("[data-testid=filter-errors]") as HTMLElement;
    expect(report.hidden).toBe(true);
    input.value = "books colour:red";
    input.dispatchEvent(new Event("input"));
    expect(report.hidden).toBe(false);
    expect(report.textContent).toContain("colour: unknown key");
  });

  it("Clear empties the list and asks the server with the CSRF token", async () => {
    arrive(row("a1"), row("a2"));
    (q("[data-testid=clear-button]") as HTMLElement).click();
    expect(ids()).toEqual([]);
    expect(q("[data-testid=empty-state]")?.textContent).toContain("Waiting for requests");
    await vi.waitFor(() => expect(fetchMock).toHaveBeenCalled());
    const [url, init] = fetchMock.mock.calls.at(-1) as [string, RequestInit];
    expect(url).toBe("/__lifecycle__/api/traces/clear/");
    expect(init.method).toBe("POST");
    expect((init.headers as Record<string, string>)["X-CSRFToken"]).toBe("tok-1");
    expect(app.state.get().errors).toEqual([]);
  });

  it("says so when the server cannot clear", async () => {
    clearStatus = 404;
    arrive(row("a1"));
    await app.clearTraces();
    expect(ids()).toEqual([]);
    expect(app.state.get().errors.at(-1)).toContain("no clear endpoint");
  });
});
