// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "./app";
import bookList from "../lib/__fixtures__/book-list-n-plus-one.json";
import orderError from "../lib/__fixtures__/order-error-500.json";
import { FakeSocket, fixture, row, serverGroupsFixture, span } from "../lib/test-helpers";
import { DEFAULT_LIMITS } from "../lib/trace-format";


const config = { wsUrl: "/__lifecycle__/ws/", apiBase: "/__lifecycle__/api/", version: 1, ...DEFAULT_LIMITS, live: true, channels: true };
const q = (sel: string) => document.querySelector<HTMLElement>(sel);
const qa = (sel: string) => Array.from(document.querySelectorAll<HTMLElement>(sel));

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
  app = new App(root, config, {
    WebSocket: FakeSocket as unknown as typeof WebSocket,
    fetch: fetchMock as unknown as typeof fetch,
    location: { protocol: "https:", host: "shop.test" },
  });
  app.start();
});

afterEach(() => {
  app.stop();
  vi.restoreAllMocks();
});

function socket(): FakeSocket {
  const s = FakeSocket.instances.at(-1);
  if (!s) throw new Error("no socket");
  return s;
}

describe("App", () => {
  it("connects to the wss URL and shows the empty state", () => {
    expect(socket().url).toBe("wss://shop.test/__lifecycle__/ws/");
    expect(q("[data-testid=connection-state]")?.textContent).toBe("connecting");
    socket().open();
    expect(q("[data-testid=connection-state]")?.dataset["state"]).toBe("live");
    expect(q("[data-testid=empty-state]")?.textContent).toBe("Waiting for requests. Open your site in another tab.");
  });

  it("lists backlog rows and live traces, running then done", () => {
    socket().open();
    socket().receive({ type: "hello", version: 1, dropped_events: 0 });
    socket().receive({ type: "backlog", traces: [row("b1", { path: "/old/", queries: 3 })] });
    socket().receive({
      type: "events",
      dropped_events: 7,
      events: [
        { e: "trace.start", trace_id: "6f1c2a0e9b3d4c55", row: row("6f1c2a0e9b3d4c55", { path: "/books/", status: null, duration_ns: null }) },
        { e: "span.start", trace_id: "6f1c2a0e9b3d4c55", span: span(1, 0, 1000, null, "middleware") },
      ],
    });
    app.flush();
    let rows = qa("[data-testid=request-row]");
    expect(rows.map((r) => r.dataset["traceId"])).toEqual(["6f1c2a0e9b3d4c55", "b1"]);
    expect(rows[0]?.dataset["running"]).toBe("true");
    expect(rows[1]?.dataset["queries"]).toBe("3");
    expect(q("[data-testid=dropped-events]")?.textContent).toBe("Dropped events: 7");
    expect(q("[data-testid=dropped-events]")?.hidden).toBe(false);

    // open the running trace: the request span is put back, the open span is marked running
    rows[0]?.click();
    expect(q("[data-testid=trace-view]")?.dataset["state"]).toBe("running");
    expect(qa("[data-testid=waterfall-row]").map((r) => r.dataset["spanId"])).toEqual(["0", "1"]);

    socket().receive({
      type: "events",
      dropped_events: 7,
      events: [{ e: "trace.end", trace_id: "6f1c2a0e9b3d4c55", row: row("6f1c2a0e9b3d4c55", { path: "/books/", queries: 21, duplicates: 20, n_plus_one: 1 }), trace: bookList }],
    });
    app.flush();
    rows = qa("[data-testid=request-row]");
    expect(rows[0]?.dataset["running"]).toBe("false");
    expect(rows[0]?.dataset["status"]).toBe("200");
    expect(rows[0]?.textContent).toContain("21 q · 20 dup");
    expect(q("[data-testid=trace-view]")?.dataset["state"]).toBe("done");
    // 31 spans, the 20 N+1 queries folded into one row
    expect(qa("[data-testid=waterfall-row]").length).toBe(12);
    const folded = q("[data-testid=waterfall-row][data-kind=sql-group]");
    expect(folded?.dataset["count"]).toBe("20");
    expect(folded?.getAttribute("aria-expanded")).toBe("false");
    expect(folded?.querySelector(".wf-name")?.textContent).toBe('SELECT … FROM "shop_author" WHERE "shop_author"."id" = %s LIMIT 21');
    expect(folded?.querySelector(".wf-count")?.textContent).toMatch(/^×20 · [\d.]+ (µs|ms)$/);
    const group = q("[data-testid=n-plus-one-group]");
    expect(group?.dataset["count"]).toBe("20");
    expect(group?.textContent).toContain("shop/models.py:31 __str__");
    // The N+1 banner opens the group and highlights its queries.
    group?.click();
    expect(app.traceView.waterfall.visibleSpanIds).toHaveLength(31);
    expect(folded?.getAttribute("aria-expanded")).toBe("true");
    expect(qa(".wf-row.highlighted[data-kind=sql]").length).toBe(20);
    expect(qa(".wf-row.highlighted[data-kind=sql-group]").length).toBe(1);
    expect(q("[data-testid=span-detail]")?.dataset["spanId"]).toBe("9");
  });

  it("fetches a trace it does not hold and keeps hostile text as text", async () => {
    socket().open();
    socket().receive({ type: "backlog", traces: [row(orderError.id, { method: "POST", path: "/orders/<img src=x onerror=alert(1)>", status: 500, error: "ValueError: boom" })] });
    app.flush();
    const r = q("[data-testid=request-row]");
    expect(r?.querySelector(".row-path")?.textContent).toBe("/orders/<img src=x onerror=alert(1)>");
    r?.click();
    expect(q("[data-testid=trace-view]")?.dataset["state"]).toBe("loading");
    await vi.waitFor(() => expect(q("[data-testid=trace-view]")?.dataset["state"]).toBe("done"));
    expect(fetchMock).toHaveBeenCalledWith(`/__lifecycle__/api/traces/${orderError.id}/`, expect.anything());
    expect(q("[data-testid=save-trace]")?.getAttribute("href")).toBe(`/__lifecycle__/api/traces/${orderError.id}/?download=1`);
    q(`[data-testid=waterfall-row][data-span-id="5"]`)?.click();
    const detail = q("[data-testid=span-detail]");
    expect(detail?.querySelector("[data-testid=sql-text]")?.textContent).toContain("</script><img src=x onerror=alert(1)>");
    q(`[data-testid=waterfall-row][data-span-id="7"]`)?.click();
    expect(detail?.textContent).toContain("boom </script><img src=x onerror=alert(1)>");
    expect(document.querySelectorAll("img, script").length).toBe(0);
  });

  it("shows an error banner for malformed frames and keeps going", () => {
    socket().open();
    socket().receive("{not json");
    socket().receive({ type: "events", events: [{ e: "trace.start", trace_id: "x1", row: { id: "x1" } }, { e: "trace.start", trace_id: "x2", row: row("x2") }] });
    app.flush();
    const banner = q("[data-testid=error-banner]");
    expect(banner?.hidden).toBe(false);
    expect(banner?.textContent).toContain("not valid JSON");
    expect(banner?.textContent).toContain("events.events[0].row.method");
    expect(qa("[data-testid=request-row]").map((r) => r.dataset["traceId"])).toEqual(["x2"]);
  });

  it("filters, pauses and reconnects", () => {
    vi.useFakeTimers();
    socket().open();
    socket().receive({ type: "backlog", traces: [row("a", { status: 500, path: "/boom/" }), row("b", { status: 200 })] });
    app.flush();
    const input = q("[data-testid=filter-input]") as HTMLInputElement;
    input.value = "status:5xx";
    input.dispatchEvent(new Event("input"));
    expect(qa("[data-testid=request-row]").map((r) => r.dataset["traceId"])).toEqual(["a"]);
    input.value = "-status:5xx";
    input.dispatchEvent(new Event("input"));
    expect(qa("[data-testid=request-row]").map((r) => r.dataset["traceId"])).toEqual(["b"]);
    input.value = "";
    input.dispatchEvent(new Event("input"));

    q("[data-testid=pause-button]")?.click();
    expect(q("[data-testid=pause-button]")?.textContent).toBe("Resume");
    socket().receive({ type: "events", events: [{ e: "trace.start", trace_id: "c", row: row("c", { duration_ns: null }) }] });
    app.flush();
    expect(qa("[data-testid=request-row]")).toHaveLength(2);
    expect(q("[data-testid=paused-note]")?.textContent).toBe("Paused · 1 new");
    document.body.dispatchEvent(new KeyboardEvent("keydown", { key: " ", code: "Space", bubbles: true }));
    expect(q("[data-testid=pause-button]")?.textContent).toBe("Pause");
    expect(qa("[data-testid=request-row]")).toHaveLength(3);

    socket().onclose?.();
    expect(q("[data-testid=connection-state]")?.textContent).toBe("reconnecting");
    expect(q("[data-testid=retry-button]")?.hidden).toBe(false);
    const before = FakeSocket.instances.length;
    q("[data-testid=retry-button]")?.click();
    expect(FakeSocket.instances.length).toBe(before + 1);
    socket().open();
    expect(q("[data-testid=connection-state]")?.textContent).toBe("live");
    vi.useRealTimers();
  });

  it("explains a refusal (4403 revoked or at connect, 4400), stops reconnecting and offers Retry", () => {
    vi.useFakeTimers();
    try {
      const banner = q("[data-testid=connection-banner]") as HTMLElement;
      const pill = q("[data-testid=connection-state]") as HTMLElement;
      socket().open();
      socket().receive({ type: "backlog", traces: [row("kept")] });
      app.flush();
      // Connected (frames came), then closed 4403: the server's re-check found the viewer logged out.
      socket().closed(4403, "access refused");
      expect(pill.dataset["state"]).toBe("refused");
      expect(banner.hidden).toBe(false);
      expect(banner.dataset["problem"]).toBe("revoked");
      expect(banner.textContent).toContain("Access revoked: log in again.");
      expect(banner.textContent).not.toContain("Retrying in");
      const count = FakeSocket.instances.length;
      vi.advanceTimersByTime(5 * 60_000);
      expect(FakeSocket.instances.length).toBe(count);
      // What was shown stays readable.
      expect(qa("[data-testid=request-row]").map((r) => r.dataset["traceId"])).toEqual(["kept"]);

      // Both Retry buttons try again; a 4400 then names the page's origin and ALLOWED_ORIGINS.
      expect(q("[data-testid=retry-button]")?.hidden).toBe(false);
      q("[data-testid=connection-retry]")?.click();
      expect(FakeSocket.instances.length).toBe(count + 1);
      expect(banner.dataset["problem"]).toBeUndefined();
      socket().closed(4400, "cross-origin connection refused");
      expect(pill.dataset["state"]).toBe("refused");
      expect(banner.dataset["problem"]).toBe("cross-origin");
      expect(banner.textContent).toContain("this page's origin, https://shop.test, is not the dashboard's own origin");
      expect(banner.textContent).toContain('LIFECYCLE["ALLOWED_ORIGINS"]');
      expect(banner.textContent).not.toContain("ALLOWED_HOSTS");
      // A 4403 before any frame: refused at connect.
      q("[data-testid=retry-button]")?.click();
      socket().open();
      socket().closed(4403, "access refused");
      expect(banner.dataset["problem"]).toBe("forbidden");
      expect(banner.textContent).toContain(
        "You are not allowed to see this dashboard: DEBUG must be on and your IP in INTERNAL_IPS, or sign in as staff (LIFECYCLE['ACCESS_CALLBACK'])",
      );
      q("[data-testid=retry-button]")?.click();
      expect(FakeSocket.instances.length).toBe(count + 3);
      socket().open();
      expect(pill.dataset["state"]).toBe("live");
      expect(banner.hidden).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it("hints at the ASGI setup when the socket never opens, and keeps retrying", () => {
    vi.useFakeTimers();
    try {
      const banner = q("[data-testid=connection-banner]") as HTMLElement;
      socket().closed(1006);
      expect(banner.hidden).toBe(false);
      expect(banner.dataset["problem"]).toBe("unreachable");
      expect(banner.textContent).toContain("wss://shop.test/__lifecycle__/ws/ has never opened");
      expect(banner.textContent).toContain("lifecycle.routing.websocket_urlpatterns");
      expect(banner.textContent).toContain('"daphne" in INSTALLED_APPS');
      expect(banner.querySelector(".connection-text")?.textContent).toMatch(/Retrying in \d+ s\.$/);
      const count = FakeSocket.instances.length;
      vi.advanceTimersByTime(60_000);
      expect(FakeSocket.instances.length).toBeGreaterThan(count);
      expect(banner.dataset["problem"]).toBe("unreachable");
      socket().open();
      expect(banner.hidden).toBe(true);
      // Lost after it worked: the plain text again.
      socket().closed(1006);
      expect(banner.dataset["problem"]).toBeUndefined();
      expect(banner.textContent).toMatch(/^Connection to the server lost\. Retrying in \d+ s\./);
    } finally {
      vi.useRealTimers();
    }
  });

  it("opens a trace file and reports a bad one naming the field", async () => {
    const input = q("[data-testid=open-file-input]") as HTMLInputElement;
    await app.openFile(new File([JSON.stringify(bookList)], "books.json", { type: "application/json" }));
    expect(q("[data-testid=trace-view]")?.dataset["state"]).toBe("done");
    expect(q("[data-testid=save-trace]")?.getAttribute("download")).toBe("books.json");
    const bad = structuredClone(bookList) as { spans: { start_ns: unknown }[] };
    (bad.spans[2] as { start_ns: unknown }).start_ns = "soon";
    await app.openFile(new File([JSON.stringify(bad)], "bad.json"));
    expect(q("[data-testid=error-banner]")?.textContent).toContain('Could not open bad.json: trace.spans[2].start_ns: expected an integer >= 0, got "soon"');
    expect(input).toBeTruthy();
  });

  it("keeps the open trace and span in the URL and restores them", async () => {
    socket().open();
    socket().receive({ type: "events", events: [{ e: "trace.end", trace_id: bookList.id, row: row(bookList.id), trace: bookList }] });
    app.flush();
    q("[data-testid=request-row]")?.click();
    expect(q(`[data-testid=waterfall-row][data-span-id="12"]`)).toBeNull(); // folded in its group
    q("[data-testid=waterfall-row][data-kind=sql-group]")?.click();
    q(`[data-testid=waterfall-row][data-span-id="12"]`)?.click();
    expect(window.location.hash).toBe(`#trace=${bookList.id}&span=12`);
    app.stop();

    const root = document.getElementById("lifecycle-app") as HTMLElement;
    app = new App(root, config, { WebSocket: FakeSocket as unknown as typeof WebSocket, fetch: fetchMock as unknown as typeof fetch });
    app.start();
    await vi.waitFor(() => expect(app.state.get().selectedSpanId).toBe(12));
    expect(fetchMock).toHaveBeenCalledWith(`/__lifecycle__/api/traces/${bookList.id}/`, expect.anything());
    expect(q("[data-testid=span-detail]")?.dataset["spanId"]).toBe("12");
    // the restored span is shown: its group opened
    await vi.waitFor(() => expect(q(`[data-testid=waterfall-row][data-span-id="12"]`)?.classList.contains("selected")).toBe(true));
    q("[data-testid=pause-button]")?.focus();
    document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", code: "Escape", bubbles: true }));
    document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", code: "Escape", bubbles: true }));
    expect(window.location.hash).toBe("");
  });

  it("fetches the open trace when its trace.end carried a broken trace", async () => {
    socket().open();
    socket().receive({ type: "events", events: [{ e: "trace.start", trace_id: bookList.id, row: row(bookList.id, { duration_ns: null, status: null }) }, { e: "span.start", trace_id: bookList.id, span: span(1, 0, 5, null) }] });
    app.flush();
    // A running trace is shown from its live spans, without asking the API.
    q("[data-testid=request-row]")?.click();
    expect(fetchMock).toHaveBeenCalledTimes(0);
    expect(q("[data-testid=trace-view]")?.dataset["state"]).toBe("running");
    expect(q("[data-testid=error-banner]")?.hidden).toBe(true);
    socket().receive({ type: "events", events: [{ e: "trace.end", trace_id: bookList.id, row: row(bookList.id), trace: { format: "nope" } }] });
    app.flush();
    await vi.waitFor(() => expect(q("[data-testid=trace-view]")?.dataset["state"]).toBe("done"));
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(qa("[data-testid=waterfall-row]")).toHaveLength(12);
  });

  it("opens and folds a group of similar queries by click, keyboard and [ ]", async () => {
    await app.openFile(new File([JSON.stringify(bookList)], "books.json", { type: "application/json" }));
    const rowIds = () => qa("[data-testid=waterfall-row]").map((r) => r.dataset["spanId"] ?? `g${r.dataset["groupId"]}`);
    const folded = () => q("[data-testid=waterfall-row][data-kind=sql-group]") as HTMLElement;
    expect(rowIds()).toContain("g9");
    expect(rowIds()).not.toContain("9");
    folded().click();
    expect(rowIds().slice(rowIds().indexOf("g9"), rowIds().indexOf("g9") + 3)).toEqual(["g9", "9", "10"]);
    folded().click();
    expect(rowIds()).not.toContain("9");

    // keyboard: from the span above, down onto the group, → opens, ↓ selects its first query, ← back to the group, ← folds
    const wf = q("[data-testid=waterfall]") as HTMLElement;
    const key = (k: string) => wf.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true }));
    q(`[data-testid=waterfall-row][data-span-id="8"]`)?.click();
    key("ArrowDown");
    expect(folded().classList.contains("selected")).toBe(true);
    expect(app.state.get().selectedSpanId).toBe(8);
    key("ArrowRight");
    expect(folded().getAttribute("aria-expanded")).toBe("true");
    key("ArrowDown");
    expect(app.state.get().selectedSpanId).toBe(9);
    expect(folded().classList.contains("selected")).toBe(false);
    key("ArrowLeft");
    expect(folded().classList.contains("selected")).toBe(true);
    key("ArrowLeft");
    expect(folded().getAttribute("aria-expanded")).toBe("false");

    const press = (code: string) => document.body.dispatchEvent(new KeyboardEvent("keydown", { key: code === "BracketLeft" ? "[" : "]", code, bubbles: true }));
    press("BracketLeft");
    expect(folded().getAttribute("aria-expanded")).toBe("true");
    press("BracketRight");
    expect(rowIds()).not.toContain("g9");
  });

  it("toggles the shortcuts help with ?", () => {
    const help = q("[data-testid=shortcuts-help]");
    expect(help?.hidden).toBe(true);
    document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "?", code: "Slash", shiftKey: true, bubbles: true }));
    expect(help?.hidden).toBe(false);
    document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", code: "Escape", bubbles: true }));
    expect(help?.hidden).toBe(true);
  });

  it("moves through the list with the arrow keys and clears with Escape", () => {
    socket().open();
    socket().receive({ type: "backlog", traces: [row("n2", { started_at: "2026-01-01T00:00:02Z" }), row("n1", { started_at: "2026-01-01T00:00:01Z" })] });
    app.flush();
    const key = (code: string, key = code) => document.body.dispatchEvent(new KeyboardEvent("keydown", { key, code, bubbles: true }));
    key("ArrowDown");
    expect(app.state.get().selectedTraceId).toBe("n2");
    key("ArrowDown");
    expect(app.state.get().selectedTraceId).toBe("n1");
    key("ArrowUp");
    expect(app.state.get().selectedTraceId).toBe("n2");
    key("Escape");
    expect(app.state.get().open).toBeNull();
    key("Slash", "/");
    expect(document.activeElement).toBe(q("[data-testid=filter-input]"));
  });
});

describe("App, live protocol 2", () => {
  const frame = (o: unknown) => JSON.stringify(o);

  it("acknowledges every seq'd frame once applied, on the socket it came on", () => {
    socket().open();
    socket().receive({ type: "hello", version: 2, dropped_events: 0, window: 8, layer: "up" });
    socket().receive({ type: "backlog", seq: 1, traces: [row("a1")] });
    socket().receive({ type: "events", seq: 2, events: [], dropped_events: 0, missed_events: 0 });
    socket().receive('{"type":"events","seq":3,"events":"broken"}');
    socket().receive({ type: "pong" });
    expect(socket().sent).toEqual([]); // not yet applied
    app.flush();
    expect(socket().sent).toEqual([frame({ type: "ack", seq: 1 }), frame({ type: "ack", seq: 2 }), frame({ type: "ack", seq: 3 })]);
    // No warning for version 2.
    expect(q("[data-testid=error-banner]")?.textContent).not.toContain("protocol version");
    // A frame of the old socket, applied after a reconnect, is not acknowledged on the new one.
    socket().receive({ type: "events", seq: 4, events: [] });
    socket().closed(1006);
    q("[data-testid=retry-button]")?.click();
    socket().open();
    app.flush();
    expect(socket().sent).toEqual([]);
  });

  it("warns only about a protocol newer than it knows", () => {
    socket().open();
    socket().receive({ type: "hello", version: 1, dropped_events: 0 });
    app.flush();
    expect(q("[data-testid=error-banner]")?.hidden).toBe(true);
    socket().receive({ type: "hello", version: 3, dropped_events: 0 });
    app.flush();
    expect(q("[data-testid=error-banner]")?.textContent).toContain("The server speaks live protocol version 3; this dashboard knows versions 1 to 2");
  });

  it("shows the live events it missed", () => {
    socket().open();
    socket().receive({ type: "hello", version: 2, dropped_events: 0, window: 8, layer: "up" });
    app.flush();
    const missed = q("[data-testid=missed-events]") as HTMLElement;
    expect(missed.hidden).toBe(true);
    socket().receive({ type: "events", seq: 1, events: [], dropped_events: 0, missed_events: 1234 });
    app.flush();
    expect(missed.hidden).toBe(false);
    expect(missed.textContent).toBe("1234 live events missed: the dashboard read too slowly");
  });

  it("is not live while the channel layer is down, and is again once it is up", () => {
    const pill = q("[data-testid=connection-state]") as HTMLElement;
    const banner = q("[data-testid=connection-banner]") as HTMLElement;
    socket().open();
    socket().receive({ type: "hello", version: 2, dropped_events: 0, window: 8, layer: "down", error: "ConnectionError: redis:6379 refused" });
    app.flush();
    expect(pill.dataset["state"]).toBe("layer-down");
    expect(pill.textContent).toBe("channel layer down: no live events");
    expect(banner.hidden).toBe(false);
    expect(banner.dataset["problem"]).toBe("layer-down");
    expect(banner.textContent).toContain("Channel layer down: no live events (ConnectionError: redis:6379 refused)");
    socket().receive({ type: "status", layer: "up" });
    app.flush();
    expect(pill.dataset["state"]).toBe("live");
    expect(pill.textContent).toBe("live");
    expect(banner.hidden).toBe(true);
    socket().receive({ type: "status", layer: "down", error: "timeout" });
    app.flush();
    expect(pill.textContent).toBe("channel layer down: no live events");
  });

  it("says why after a 4429 and reconnects with backoff", () => {
    vi.useFakeTimers();
    try {
      socket().open();
      socket().receive({ type: "hello", version: 2 });
      const count = FakeSocket.instances.length;
      socket().closed(4429, "too many commands");
      const banner = q("[data-testid=connection-banner]") as HTMLElement;
      expect(banner.dataset["problem"]).toBe("flood");
      expect(banner.textContent).toContain("too many commands (code 4429");
      expect(banner.textContent).toMatch(/Retrying in \d+ s/);
      vi.advanceTimersByTime(10_000);
      expect(FakeSocket.instances.length).toBe(count + 1);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("App, hostile files and traces", () => {
  function remount(over: Partial<typeof config>): void {
    app.stop();
    const root = document.getElementById("lifecycle-app") as HTMLElement;
    app = new App(root, { ...config, ...over }, { WebSocket: FakeSocket as unknown as typeof WebSocket, fetch: fetchMock as unknown as typeof fetch });
    app.start();
  }
  const banner = () => q("[data-testid=error-banner]")?.textContent ?? "";

  it("refuses a file over maxTraceBytes by its size, without reading it", async () => {
    remount({ maxTraceBytes: 1000 });
    const file = new File(["x".repeat(5000)], "huge.json");
    const read = vi.spyOn(file, "text");
    await app.openFile(file);
    expect(read).not.toHaveBeenCalled();
    expect(banner()).toContain('huge.json is too large to open (5 KB, more than the dashboard\'s limit of 1 KB, LIFECYCLE["DASHBOARD_MAX_TRACE_BYTES"]).');
    expect(app.state.get().open).toBeNull();
  });

  it("refuses an API answer over the limit by its Content-Length, before parsing", async () => {
    remount({ maxTraceBytes: 1000 });
    const parse = vi.spyOn(JSON, "parse");
    fetchMock.mockImplementation(async () => new Response(JSON.stringify(bookList), { status: 200, headers: { "Content-Length": "30000" } }));
    app.openTrace(bookList.id);
    await vi.waitFor(() => expect(q("[data-testid=trace-error]")?.textContent).toContain("is too large to open"));
    expect(parse).not.toHaveBeenCalled();
    expect(banner()).toContain(`Trace ${bookList.id} is too large to open (30 KB, more than the dashboard's limit of 1 KB`);
  });

  it("shows the first maxSpans spans with a notice", async () => {
    remount({ maxSpans: 5 });
    await app.openFile(new File([JSON.stringify(bookList)], "books.json"));
    const notice = q("[data-testid=trace-cut-notice]") as HTMLElement;
    expect(notice.hidden).toBe(false);
    expect(notice.textContent).toContain("Showing 5 of 31 spans");
    expect(qa("[data-testid=waterfall-row]").length).toBe(5);
    // Groups naming spans that were cut still highlight what is there.
    q("[data-testid=n-plus-one-group]")?.click();
    expect(q("[data-testid=trace-view]")?.dataset["state"]).toBe("done");
  });

  it("cuts spans nested deeper than maxDepth, and a trace of 20,000 levels opens", async () => {
    const deep = structuredClone(bookList) as unknown as { spans: Record<string, unknown>[] };
    const first = deep.spans[0] as Record<string, unknown>;
    deep.spans = [first];
    for (let i = 1; i < 20_000; i++) deep.spans.push({ id: i, parent_id: i - 1, kind: "view", name: `v${i}`, start_ns: i, duration_ns: 1, attrs: {} });
    await app.openFile(new File([JSON.stringify(deep)], "deep.json"));
    expect(q("[data-testid=trace-view]")?.dataset["state"]).toBe("done");
    expect(q("[data-testid=trace-cut-notice]")?.textContent).toContain("19,744 spans nested deeper than 256 levels are not shown");
  });

  it("shows a deeply nested attribute truncated", async () => {
    const t = structuredClone(bookList) as unknown as { spans: { attrs: Record<string, unknown> }[] };
    const nested = "[".repeat(10_000) + "]".repeat(10_000);
    const text = JSON.stringify(t).replace('"attrs":{', `"attrs":{"deep":${nested},`);
    await app.openFile(new File([text], "nested.json"));
    q("[data-testid=waterfall-row]")?.click();
    const attrs = q("[data-testid=span-attrs]");
    expect(attrs?.textContent).toContain("[…]");
    expect(q("[data-testid=trace-view]")?.dataset["state"]).toBe("done");
  });

  it("shows the server's N+1 verdict with its template line chain, similar groups and self time", async () => {
    await app.openFile(new File([JSON.stringify(serverGroupsFixture())], "books.json"));
    expect(q("[data-testid=trace-view]")?.dataset["state"]).toBe("done");
    const banner = q("[data-testid=n-plus-one-banner]");
    const chain = qa("[data-testid=n-plus-one-banner] [data-testid=call-chain] li");
    expect(chain.map((li) => li.dataset["kind"])).toEqual(["template", "template", "frame"]);
    expect(chain.map((li) => li.textContent)).toEqual([
      "shop/book_list.html:21 {{ book.author.name }}",
      "shop/book_list.html:18 {% for book in books %}",
      "shop/views.py:19 book_list",
    ]);
    expect(banner?.querySelector("[data-testid=n-plus-one-group]")?.textContent).toContain("10 distinct params");
    // Its duplicate group holds the same 20 queries: not listed a second time.
    expect(qa("[data-testid=n-plus-one-group]")).toHaveLength(1);
    expect(qa("[data-testid=duplicate-group]")).toHaveLength(0);
    const similar = q("[data-testid=similar-group]");
    expect(similar?.dataset["count"]).toBe("3");
    expect(similar?.textContent).toContain("2 statements");
    similar?.click();
    expect(qa(".wf-row.highlighted").length).toBeGreaterThan(0);
    expect(q("[data-testid=chip-self-time]")?.textContent).toContain("template 4.00 ms");
    expect(q("[data-testid=chip-sql]")?.textContent).toContain("900 µs");
    // The span detail names the template lines, then the Python frames.
    q("[data-testid=n-plus-one-group]")?.click();
    const detail = q("[data-testid=span-detail]");
    expect(detail?.dataset["spanId"]).toBe("9");
    expect(detail?.querySelector("[data-testid=template-stack]")?.textContent).toContain("shop/book_list.html:21 {{ book.author.name }}");
    expect(detail?.querySelector("[data-testid=detail-n-plus-one]")?.textContent).toContain("N+1: run 20 times");
    expect(detail?.querySelector("[data-testid=stack]")?.textContent).toContain("shop/models.py:31");
  });

  it("names a Jinja2 template, a partial and a transaction statement in the span detail", async () => {
    const t = fixture("book-list");
    const spans = t["spans"] as { id: number; kind: string; name: string; attrs: Record<string, unknown> }[];
    const byId = (id: number) => spans.find((s) => s.id === id) as (typeof spans)[number];
    byId(8).attrs = { template: "shop/book_list.jinja", origin: "shop/templates/shop/book_list.jinja", via: "render", engine: "jinja2" };
    byId(29).name = "shop/book_list.html#card";
    byId(29).attrs = { template: "shop/book_list.html#card", origin: "shop/templates/shop/book_list.html", via: "partial" };
    byId(7).attrs = { ...byId(7).attrs, sql: "COMMIT", params: [], transaction: true };
    await app.openFile(new File([JSON.stringify(t)], "books.json"));
    const detail = () => q("[data-testid=span-detail]");
    q(`[data-testid=waterfall-row][data-span-id="8"]`)?.click();
    expect(detail()?.textContent).toContain("Jinja2");
    expect(detail()?.textContent).toContain("shop/templates/shop/book_list.jinja");
    q(`[data-testid=waterfall-row][data-span-id="29"]`)?.click();
    expect(detail()?.textContent).toContain("partial");
    expect(detail()?.textContent).toContain("Django");
    expect(detail()?.querySelector("[data-testid=detail-transaction]")).toBeNull();
    q(`[data-testid=waterfall-row][data-span-id="7"]`)?.click();
    expect(detail()?.querySelector("[data-testid=detail-transaction]")?.textContent).toContain("Transaction control");
    // Shown in their sections, not repeated in "Other attributes".
    expect(detail()?.querySelector("[data-testid=span-attrs]")?.textContent ?? "").not.toContain("transaction");
  });
});

describe("App without live events (config.live false) and its fallback", () => {
  let listRows: unknown[];
  let listStatus: number;

  function remount(over: Partial<typeof config>, doc?: { visibilityState: DocumentVisibilityState }): void {
    app.stop();
    FakeSocket.instances = [];
    const root = document.getElementById("lifecycle-app") as HTMLElement;
    fetchMock.mockImplementation(async (url: string) => {
      if (url === "/__lifecycle__/api/traces/") return new Response(JSON.stringify({ traces: listRows, dropped_events: 0 }), { status: listStatus });
      const body = url.includes(bookList.id) ? bookList : null;
      return body ? new Response(JSON.stringify(body), { status: 200 }) : new Response("{}", { status: 404 });
    });
    const d = doc ?? document;
    app = new App(root, { ...config, ...over }, {
      WebSocket: FakeSocket as unknown as typeof WebSocket,
      fetch: fetchMock as unknown as typeof fetch,
      location: { protocol: "https:", host: "shop.test" },
      pollIntervalMs: 3000,
      document: {
        get visibilityState() {
          return d.visibilityState;
        },
        addEventListener: document.addEventListener.bind(document),
        removeEventListener: document.removeEventListener.bind(document),
      },
    });
    app.start();
  }
  const listCalls = () => fetchMock.mock.calls.filter((c) => c[0] === "/__lifecycle__/api/traces/").length;
  const ids = () => qa("[data-testid=request-row]").map((r) => r.dataset["traceId"]);

  beforeEach(() => {
    vi.useFakeTimers();
    listRows = [row("a1", { started_at: "2026-11-25T01:40:00.000000Z" })];
    listStatus = 200;
  });
  afterEach(() => {
    app.stop();
    vi.useRealTimers();
  });

  it("opens no websocket, lists the API's rows, refreshes them every interval and on Refresh", async () => {
    remount({ live: false, channels: false });
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.instances).toHaveLength(0);
    expect(ids()).toEqual(["a1"]);
    const pill = q("[data-testid=connection-state]");
    expect(pill?.dataset["state"]).toBe("off");
    expect(pill?.textContent).toBe("live updates off");
    const note = q("[data-testid=live-off-note]") as HTMLElement;
    expect(note.hidden).toBe(false);
    expect(note.textContent).toContain("Live updates are off (Django Channels is not installed): the list refreshes every 3 s.");
    expect(note.textContent).toContain('pip install "django-request-lifecycle[live]"');
    expect(q("[data-testid=connection-banner]")?.hidden).toBe(true);
    expect(q("[data-testid=error-banner]")?.hidden).toBe(true);
    expect(q("[data-testid=retry-button]")?.hidden).toBe(true);

    listRows = [row("b2", { started_at: "2026-11-25T01:41:00.000000Z", path: "/books/" }), ...listRows];
    await vi.advanceTimersByTimeAsync(3000);
    expect(ids()).toEqual(["b2", "a1"]);

    listRows = [row("c3", { started_at: "2026-11-25T01:42:00.000000Z" }), ...listRows];
    const refresh = q("[data-testid=refresh-button]") as HTMLButtonElement;
    expect(refresh.hidden).toBe(false);
    const before = listCalls();
    refresh.click();
    await vi.advanceTimersByTimeAsync(0);
    expect(listCalls()).toBe(before + 1);
    expect(ids()).toEqual(["c3", "b2", "a1"]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.instances).toHaveLength(0);

    // Opening a trace works as before, over HTTP.
    listRows = [row(bookList.id, { started_at: "2026-11-25T01:43:00.000000Z" }), ...listRows];
    refresh.click();
    await vi.advanceTimersByTimeAsync(0);
    qa("[data-testid=request-row]")[0]?.click();
    await vi.advanceTimersByTimeAsync(0);
    expect(fetchMock.mock.calls.some((c) => c[0] === `/__lifecycle__/api/traces/${bookList.id}/`)).toBe(true);
    expect(q("[data-testid=trace-view]")?.dataset["state"]).not.toBe("loading");
    expect(qa("[data-testid=waterfall-row]").length).toBeGreaterThan(1);
  });

  it("explains a missing channel layer where Channels is installed, and a failed read calmly", async () => {
    listStatus = 503;
    remount({ live: false, channels: true });
    await vi.advanceTimersByTimeAsync(0);
    const note = q("[data-testid=live-off-note]") as HTMLElement;
    expect(note.textContent).toContain("Live updates are off (no channel layer is configured for lifecycle");
    expect(note.textContent).not.toContain("Channels is not installed");
    expect(q("[data-testid=poll-error]")?.textContent).toBe("Could not read the request list from /__lifecycle__/api/traces/: HTTP 503");
    listStatus = 200;
    await vi.advanceTimersByTimeAsync(3000);
    expect(q("[data-testid=poll-error]")?.hidden).toBe(true);
    expect(ids()).toEqual(["a1"]);
  });

  it("does not poll while the tab is hidden", async () => {
    const doc = { visibilityState: "visible" as DocumentVisibilityState };
    remount({ live: false }, doc);
    await vi.advanceTimersByTimeAsync(0);
    expect(listCalls()).toBe(1);
    doc.visibilityState = "hidden";
    await vi.advanceTimersByTimeAsync(30_000);
    expect(listCalls()).toBe(1); // the read already scheduled finds the tab hidden: no request
    doc.visibilityState = "visible";
    document.dispatchEvent(new Event("visibilitychange"));
    await vi.advanceTimersByTimeAsync(0);
    expect(listCalls()).toBe(2);
    await vi.advanceTimersByTimeAsync(3000);
    expect(listCalls()).toBe(3);
  });

  it("polls the list after the handshake failed twice, says so, and stops once live", async () => {
    remount({ live: true });
    const banner = q("[data-testid=connection-banner]") as HTMLElement;
    socket().closed(1006);
    await vi.advanceTimersByTimeAsync(0);
    expect(listCalls()).toBe(0);
    await vi.advanceTimersByTimeAsync(2000);
    socket().closed(1006);
    await vi.advanceTimersByTimeAsync(0);
    expect(listCalls()).toBe(1);
    expect(ids()).toEqual(["a1"]);
    expect(banner.textContent).toContain("lifecycle.routing.websocket_urlpatterns");
    expect(banner.textContent).toContain("Meanwhile the list is read over HTTP every 3 s.");
    expect(q("[data-testid=refresh-button]")?.hidden).toBe(false);
    expect(q("[data-testid=live-off-note]")?.hidden).toBe(true);
    listRows = [row("b2", { started_at: "2026-11-25T01:41:00.000000Z" }), ...listRows];
    await vi.advanceTimersByTimeAsync(3000);
    expect(ids()).toEqual(["b2", "a1"]);
    // The next handshake works: the socket's backlog takes over.
    while (socket().readyState === 3) await vi.advanceTimersByTimeAsync(1000);
    socket().open();
    const calls = listCalls();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(listCalls()).toBe(calls);
    expect(banner.hidden).toBe(true);
    expect(q("[data-testid=refresh-button]")?.hidden).toBe(true);
  });
});
