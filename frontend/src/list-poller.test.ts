import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ListPoller } from "./list-poller";
import { row } from "./lib/test-helpers";
import type { ListRow } from "./lib/trace-format";

class FakeDoc {
  visibilityState: DocumentVisibilityState = "visible";
  private readonly listeners = new Set<() => void>();
  addEventListener(_type: string, fn: () => void): void {
    this.listeners.add(fn);
  }
  removeEventListener(_type: string, fn: () => void): void {
    this.listeners.delete(fn);
  }
  show(state: DocumentVisibilityState): void {
    this.visibilityState = state;
    for (const fn of this.listeners) fn();
  }
}

let doc: FakeDoc;
let fetchMock: ReturnType<typeof vi.fn>;
let answer: { status: number; body: unknown };
let seen: ListRow[][];
let results: (string | null)[];
let poller: ListPoller;

beforeEach(() => {
  vi.useFakeTimers();
  doc = new FakeDoc();
  answer = { status: 200, body: { traces: [row("a1")], dropped_events: 0 } };
  fetchMock = vi.fn(async () => new Response(JSON.stringify(answer.body), { status: answer.status }));
  seen = [];
  results = [];
  poller = new ListPoller(
    "/__lifecycle__/api/traces/",
    fetchMock as unknown as typeof fetch,
    { onRows: (rows) => seen.push(rows), onResult: (e) => results.push(e) },
    1_000_000,
    5000,
    doc as unknown as Document,
  );
});

afterEach(() => {
  poller.stop();
  vi.useRealTimers();
});

describe("ListPoller", () => {
  it("reads the list at once, then every interval, one request at a time", async () => {
    poller.start();
    poller.start(); // idempotent
    await vi.advanceTimersByTimeAsync(0);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(fetchMock.mock.calls[0]?.[0]).toBe("/__lifecycle__/api/traces/");
    expect(seen.at(-1)?.map((r) => r.id)).toEqual(["a1"]);
    answer.body = { traces: [row("b2"), row("a1")] };
    await vi.advanceTimersByTimeAsync(4999);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(seen.at(-1)?.map((r) => r.id)).toEqual(["b2", "a1"]);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(fetchMock).toHaveBeenCalledTimes(6);
    poller.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fetchMock).toHaveBeenCalledTimes(6);
  });

  it("does not poll a hidden tab, and reads the list once it is shown again", async () => {
    poller.start();
    await vi.advanceTimersByTimeAsync(0);
    doc.show("hidden");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    doc.show("visible");
    await vi.advanceTimersByTimeAsync(0);
    expect(fetchMock).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(5000);
    expect(fetchMock).toHaveBeenCalledTimes(3);
  });

  it("reports a failed read and keeps polling; leaves out a bad row with a warning", async () => {
    answer = { status: 403, body: { error: "no" } };
    poller.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(results).toEqual(["Could not read the request list from /__lifecycle__/api/traces/: HTTP 403"]);
    expect(seen).toEqual([]);
    answer = { status: 200, body: { traces: [row("a1"), { id: "../x" }] } };
    const warnings: string[][] = [];
    poller.stop();
    poller = new ListPoller("/t/", fetchMock as unknown as typeof fetch, { onRows: (rows) => seen.push(rows), onResult: (_e, w) => warnings.push(w) }, 1_000_000, 5000, doc as unknown as Document);
    await poller.refreshNow();
    expect(seen.at(-1)?.map((r) => r.id)).toEqual(["a1"]);
    expect(warnings.at(-1)?.[0]).toMatch(/^\/t\/: traces\[1\]/);
  });

  it("refreshNow does not double a read under way", async () => {
    poller.start();
    const again = poller.refreshNow();
    await again;
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });
});
