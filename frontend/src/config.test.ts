// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { readConfig } from "./config";
import { DEFAULT_LIMITS } from "./lib/trace-format";

function page(json: string): Document {
  document.body.replaceChildren();
  const el = document.createElement("script");
  el.id = "lifecycle-config";
  el.type = "application/json";
  el.textContent = json;
  document.body.appendChild(el);
  return document;
}

describe("readConfig", () => {
  it("reads the dashboard's limits", () => {
    const { config } = readConfig(page('{"wsUrl": "/ws/", "apiBase": "/api", "version": 1, "maxTraceBytes": 2000, "maxSpans": 50, "maxDepth": 16}'));
    expect(config).toEqual({ wsUrl: "/ws/", apiBase: "/api/", version: 1, maxTraceBytes: 2000, maxSpans: 50, maxDepth: 16, live: true, channels: true, csrfToken: "" });
  });

  it("keeps the defaults for limits an older server does not send, or that are not positive integers", () => {
    const { config } = readConfig(page('{"maxTraceBytes": -1, "maxSpans": "many", "maxDepth": 1.5}'));
    expect(config).toMatchObject(DEFAULT_LIMITS);
  });
});

describe("readConfig live", () => {
  it("reads live and channels", () => {
    const { config } = readConfig(page('{"live": false, "channels": false}'));
    expect(config.live).toBe(false);
    expect(config.channels).toBe(false);
  });

  it("takes an older server, which sends neither, for live", () => {
    const { config } = readConfig(page('{"wsUrl": "/ws/", "apiBase": "/api/", "version": 1}'));
    expect(config.live).toBe(true);
    expect(config.channels).toBe(true);
    expect(readConfig(page('{"live": "no"}')).config.live).toBe(true);
  });
});

describe("readConfig csrfToken", () => {
  it("reads the token the page's POST requests send", () => {
    expect(readConfig(page('{"csrfToken": "abc123"}')).config.csrfToken).toBe("abc123");
    expect(readConfig(page("{}")).config.csrfToken).toBe("");
  });
});
