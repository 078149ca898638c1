import { describe, expect, it } from "vitest";
import { clearServerTraces } from "./clear-traces";

function answer(status: number, body = "", type = "application/json"): typeof fetch {
  const calls: [string, RequestInit | undefined][] = [];
  const fn = ((url: string, init?: RequestInit) => {
    calls.push([url, init]);
    return Promise.resolve(new Response(body || null, { status, headers: { "Content-Type": type } }));
  }) as unknown as typeof fetch;
  return Object.assign(fn, { calls });
}

describe("clearing the server's traces", () => {
  it("posts with the CSRF token and says nothing when the server cleared", async () => {
    const fetchFn = answer(200, '{"cleared": 3}');
    expect(await clearServerTraces("/__lifecycle__/api/", "tok123", fetchFn)).toBeNull();
    const [url, init] = (fetchFn as unknown as { calls: [string, RequestInit][] }).calls[0] ?? [];
    expect(url).toBe("/__lifecycle__/api/traces/clear/");
    expect(init?.method).toBe("POST");
    expect((init?.headers as Record<string, string>)["X-CSRFToken"]).toBe("tok123");
  });

  it("explains a server without the endpoint", async () => {
    const text = await clearServerTraces("/api/", "t", answer(404, '{"error": "not found"}'));
    expect(text).toContain("no clear endpoint");
    expect(text).toContain("emptied on this page only");
  });

  it("gives the access rule's sentence of a refusal, or the CSRF hint", async () => {
    expect(await clearServerTraces("/api/", "t", answer(403, '{"error": "The lifecycle dashboard is shown to active staff users."}'))).toContain(
      "refused to clear its traces: The lifecycle dashboard is shown to active staff users.",
    );
    expect(await clearServerTraces("/api/", "", answer(403, "<h1>Forbidden (CSRF cookie not set.)</h1>", "text/html"))).toContain("the CSRF check failed; reload the dashboard");
  });

  it("reports other answers and network failures", async () => {
    expect(await clearServerTraces("/api/", "t", answer(500, "", "text/plain"))).toContain("HTTP 500");
    const down = (() => Promise.reject(new TypeError("Failed to fetch"))) as unknown as typeof fetch;
    expect(await clearServerTraces("/api/", "t", down)).toContain("Failed to fetch");
  });
});
