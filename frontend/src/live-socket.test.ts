import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LiveSocket } from "./live-socket";
import type { ConnectionProblem } from "./lib/protocol";
import type { ConnectionState } from "./state";
import { FakeSocket } from "./lib/test-helpers";


type Seen = [ConnectionState, boolean, ConnectionProblem | null];
let seen: Seen[];
let sock: LiveSocket;
const last = (): FakeSocket => FakeSocket.instances.at(-1) as FakeSocket;

beforeEach(() => {
  vi.useFakeTimers();
  vi.spyOn(console, "warn").mockImplementation(() => undefined);
  FakeSocket.instances = [];
  seen = [];
  sock = new LiveSocket("ws://x/ws/", { onState: (s, at, p) => seen.push([s, at !== null, p]), onMessage: () => undefined }, FakeSocket as unknown as typeof WebSocket);
});

afterEach(() => {
  sock.close();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("LiveSocket close codes", () => {
  it.each([
    [4403, "forbidden"],
    [4400, "cross-origin"],
  ] as const)("stops reconnecting after %i until asked", (code, problem) => {
    sock.connect();
    last().open();
    last().closed(code, "refused");
    expect(seen.at(-1)).toEqual(["refused", false, problem]);
    vi.advanceTimersByTime(120_000);
    expect(FakeSocket.instances).toHaveLength(1);
    // Retry (the user's) tries again, without the old reason; a second refusal says it again.
    sock.retryNow();
    expect(FakeSocket.instances).toHaveLength(2);
    expect(seen.at(-1)).toEqual(["reconnecting", false, null]);
    last().closed(code);
    expect(seen.at(-1)).toEqual(["refused", false, problem]);
    sock.retryNow();
    last().open();
    expect(seen.at(-1)).toEqual(["live", false, null]);
  });

  it("hints at the setup on a 1006 before the first open, and keeps retrying with backoff", () => {
    sock.connect();
    expect(seen.at(-1)).toEqual(["connecting", false, null]);
    last().closed(1006);
    expect(seen.at(-1)).toEqual(["reconnecting", true, "unreachable"]);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.instances.length).toBeGreaterThan(1);
    expect(seen.at(-1)?.[2]).toBe("unreachable");
    last().closed(1006);
    expect(seen.at(-1)).toEqual(["reconnecting", true, "unreachable"]);
    // Retry now keeps the hint until a connection works.
    sock.retryNow();
    expect(seen.at(-1)?.[2]).toBe("unreachable");
    last().open();
    expect(seen.at(-1)).toEqual(["live", false, null]);
    // Once it has worked, a 1006 is a lost connection like any other.
    last().closed(1006);
    expect(seen.at(-1)).toEqual(["reconnecting", true, null]);
  });

  it("slows down, capped at a minute, while the handshake keeps failing (a 404: no websocket route)", () => {
    vi.spyOn(Math, "random").mockReturnValue(1); // the longest delay of each step
    sock.connect();
    const delays: number[] = [];
    let t = 0;
    for (let i = 0; i < 10; i++) {
      const before = FakeSocket.instances.length;
      last().closed(1006);
      let waited = 0;
      while (FakeSocket.instances.length === before) {
        vi.advanceTimersByTime(100);
        waited += 100;
      }
      delays.push(waited);
      t += waited;
    }
    expect(delays).toEqual([2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000, 60000]);
    expect(sock.failures).toBe(10);
    // 4 handshakes in the first 20 s (at 0, 2, 6 and 14 s), not one every half second.
    expect(delays.slice(0, 4).reduce((a, b) => a + b)).toBeGreaterThan(20_000);
    expect(t).toBe(362_000);
  });

  it("keeps the short steps for a connection lost after it worked", () => {
    vi.spyOn(Math, "random").mockReturnValue(1);
    sock.connect();
    last().open();
    last().closed(1006);
    expect(sock.failures).toBe(1);
    vi.advanceTimersByTime(499);
    expect(FakeSocket.instances).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.instances).toHaveLength(2);
  });

  it("stops after a 4403 on a connected socket (access revoked): no reconnect loop", () => {
    sock.connect();
    last().open();
    last().receive({ type: "hello", version: 2 });
    last().closed(4403, "access refused");
    expect(seen.at(-1)).toEqual(["refused", false, "revoked"]);
    vi.advanceTimersByTime(10 * 60_000);
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it("reconnects after a 4429 (too many commands), with a long first step", () => {
    sock.connect();
    last().open();
    last().receive({ type: "hello", version: 2 });
    last().closed(4429, "too many commands");
    expect(seen.at(-1)).toEqual(["reconnecting", true, "flood"]);
    vi.advanceTimersByTime(3_900);
    expect(FakeSocket.instances).toHaveLength(1);
    vi.advanceTimersByTime(4_200);
    expect(FakeSocket.instances).toHaveLength(2);
    last().open();
    expect(seen.at(-1)).toEqual(["live", false, null]);
  });

  it("numbers its sockets, so that frames of an old one are told apart", () => {
    const got: number[] = [];
    const s2 = new LiveSocket("ws://x/ws/", { onState: () => undefined, onMessage: (_d, g) => got.push(g) }, FakeSocket as unknown as typeof WebSocket);
    s2.connect();
    last().open();
    last().receive("a");
    last().closed(1006);
    s2.retryNow();
    last().open();
    last().receive("b");
    expect(got).toEqual([1, 2]);
    expect(s2.generation).toBe(2);
    s2.close();
  });

  it("sends only short text frames", () => {
    sock.connect();
    expect(sock.send({ type: "ping" })).toBe(false); // not open yet
    last().open();
    expect(sock.send({ type: "backlog" })).toBe(true);
    vi.advanceTimersByTime(25_000);
    expect(last().sent).toEqual(['{"type":"backlog"}', '{"type":"ping"}']);
    const huge = { type: "backlog", pad: "x".repeat(5000) } as unknown as { type: "backlog" };
    expect(sock.send(huge)).toBe(false);
    expect(last().sent).toHaveLength(2);
    for (const f of last().sent) expect(typeof f === "string" && f.length < 4096).toBe(true);
  });
});
