import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, formatTimeOfDay, parseDurationNs, statusClass, timeKeyUs } from "./format";
import { backoffDelay, websocketUrl } from "./backoff";

describe("format", () => {
  it("formats durations", () => {
    expect(formatDuration(850)).toBe("850 ns");
    expect(formatDuration(53_000)).toBe("53.0 µs");
    expect(formatDuration(10_234_000)).toBe("10.2 ms");
    expect(formatDuration(1_234_000_000)).toBe("1.23 s");
    expect(formatDuration(null)).toBe("–");
  });

  it("parses durations to ns", () => {
    expect(parseDurationNs("200ms")).toBe(200e6);
    expect(parseDurationNs("1.5s")).toBe(1.5e9);
    expect(parseDurationNs("300us")).toBe(300e3);
    expect(parseDurationNs("20")).toBe(20e6);
    expect(parseDurationNs("soon")).toBeNull();
  });

  it("orders ISO times to the microsecond", () => {
    expect(timeKeyUs("2026-11-25T01:40:00.000002Z")).toBeGreaterThan(timeKeyUs("2026-11-25T01:40:00.000001Z"));
    expect(timeKeyUs("2026-11-25T01:40:01Z")).toBeGreaterThan(timeKeyUs("2026-11-25T01:40:00.999999Z"));
    expect(timeKeyUs("garbage")).toBe(0);
  });

  it("classifies statuses and sizes", () => {
    expect(statusClass(503)).toBe("5xx");
    expect(statusClass(404)).toBe("4xx");
    expect(statusClass(null)).toBe("running");
    expect(formatBytes(5120)).toBe("5.0 KiB");
  });
});

describe("reconnect", () => {
  it("backs off exponentially with a cap", () => {
    const opts = { baseMs: 500, maxMs: 30_000 };
    expect(backoffDelay(0, opts, () => 0)).toBe(250);
    expect(backoffDelay(0, opts, () => 1)).toBe(500);
    expect(backoffDelay(3, opts, () => 1)).toBe(4000);
    expect(backoffDelay(50, opts, () => 1)).toBe(30_000);
    expect(backoffDelay(50, opts, () => 0)).toBe(15_000);
  });

  it("builds ws and wss URLs from the page location", () => {
    expect(websocketUrl("/__lifecycle__/ws/", { protocol: "http:", host: "localhost:8000" })).toBe("ws://localhost:8000/__lifecycle__/ws/");
    expect(websocketUrl("/__lifecycle__/ws/", { protocol: "https:", host: "example.test" })).toBe("wss://example.test/__lifecycle__/ws/");
    expect(websocketUrl("wss://other/ws/", { protocol: "http:", host: "x" })).toBe("wss://other/ws/");
  });
});

describe("formatTimeOfDay", () => {
  it("shows a row's start as the local time of day", () => {
    expect(formatTimeOfDay(new Date(2026, 11, 7, 9, 5, 3, 250).toISOString())).toBe("09:05:03");
    expect(formatTimeOfDay("not a time")).toBe("");
  });
});
