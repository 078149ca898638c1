import { describe, expect, it } from "vitest";
import { CLOSE_ABNORMAL, CLOSE_BAD_ORIGIN, CLOSE_FLOOD, CLOSE_FORBIDDEN, MAX_CLIENT_FRAME_CHARS, closeVerdict, encodeClientMessage, originOf } from "./protocol";
import type { ClientMessage } from "./trace-format";

describe("closeVerdict", () => {
  it("stops on the server's refusals, whenever they come", () => {
    for (const opened of [false, true]) {
      expect(closeVerdict(CLOSE_FORBIDDEN, opened)).toEqual({ problem: "forbidden", retry: false });
      expect(closeVerdict(CLOSE_BAD_ORIGIN, opened)).toEqual({ problem: "cross-origin", retry: false });
    }
  });

  it("tells a 4403 at connect from a revoked access, and reconnects after a 4429", () => {
    expect(closeVerdict(CLOSE_FORBIDDEN, true, true)).toEqual({ problem: "revoked", retry: false });
    expect(closeVerdict(CLOSE_FORBIDDEN, true, false)).toEqual({ problem: "forbidden", retry: false });
    expect(closeVerdict(CLOSE_FLOOD, true, true)).toEqual({ problem: "flood", retry: true });
  });

  it("calls a 1006 before the first open unreachable, and keeps retrying", () => {
    expect(closeVerdict(CLOSE_ABNORMAL, false)).toEqual({ problem: "unreachable", retry: true });
    expect(closeVerdict(undefined, false)).toEqual({ problem: "unreachable", retry: true });
  });

  it("treats other closes as a lost connection", () => {
    expect(closeVerdict(CLOSE_ABNORMAL, true)).toEqual({ problem: null, retry: true });
    expect(closeVerdict(1001, false)).toEqual({ problem: null, retry: true });
    expect(closeVerdict(1011, true)).toEqual({ problem: null, retry: true });
  });
});

describe("encodeClientMessage", () => {
  it("sends our messages as short JSON text", () => {
    expect(encodeClientMessage({ type: "ping" })).toEqual({ text: '{"type":"ping"}' });
    expect(encodeClientMessage({ type: "backlog" })).toEqual({ text: '{"type":"backlog"}' });
  });

  it("refuses a frame the server would answer with an error", () => {
    const big = { type: "ping", pad: "x".repeat(MAX_CLIENT_FRAME_CHARS) } as unknown as ClientMessage;
    const r = encodeClientMessage(big);
    expect("error" in r && r.error).toMatch(/^message too large: 4\d{3} characters, the server takes fewer than 4096$/);
    const padded = (n: number) => ({ type: "ping", pad: "x".repeat(n) }) as unknown as ClientMessage;
    expect(JSON.stringify(padded(MAX_CLIENT_FRAME_CHARS - 25)).length).toBe(MAX_CLIENT_FRAME_CHARS - 1);
    expect("text" in encodeClientMessage(padded(MAX_CLIENT_FRAME_CHARS - 25))).toBe(true);
    expect("error" in encodeClientMessage(padded(MAX_CLIENT_FRAME_CHARS - 24))).toBe(true);
    // Non-ASCII text counts in UTF-16 units here, which is never fewer than the server's code points.
    expect("error" in encodeClientMessage({ type: "ping", pad: "😀".repeat(2100) } as unknown as ClientMessage)).toBe(true);
  });
});

describe("originOf", () => {
  it("is the scheme, host and port of the page", () => {
    expect(originOf({ protocol: "https:", host: "shop.test:8443" })).toBe("https://shop.test:8443");
    expect(originOf({ protocol: "http:", host: "127.0.0.1" })).toBe("http://127.0.0.1");
  });
});
