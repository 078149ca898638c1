import { describe, expect, it } from "vitest";
import { sampleTraceText } from "../lib/sample-trace";
import { parseTraceText } from "../lib/trace-parse";
import type { Trace } from "../lib/trace-format";
import { websocketOutcome } from "./trace-view";

function wsTrace(event: string, attrs: Record<string, unknown>, running = false): Trace {
  const t = parseTraceText(sampleTraceText());
  const root = { ...t.spans[0]!, kind: "consumer", name: `${event} /ws/counter/`, attrs };
  return { ...t, kind: "websocket", duration_ns: running ? null : t.duration_ns, request: { ...t.request, method: "WS", event }, response: null, spans: [root] };
}

describe("websocketOutcome", () => {
  it("says what a consumer's event did instead of an HTTP status", () => {
    expect(websocketOutcome(wsTrace("connect", { accepted: true, sent: 1 }))).toBe("connect · accepted · 1 sent");
    expect(websocketOutcome(wsTrace("connect", { accepted: false, code: 4001 }))).toBe("connect · refused · code 4001");
    expect(websocketOutcome(wsTrace("disconnect", { code: 1000 }))).toBe("disconnect · code 1000");
    expect(websocketOutcome(wsTrace("receive", {}, true))).toBe("running");
  });
});
