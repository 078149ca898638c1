// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { OpenTrace } from "../state";
import type { Trace } from "../lib/trace-format";
import { ExportMenu, exportHref } from "./export-menu";

function open(over: Partial<OpenTrace> = {}, durationNs: number | null = 1000): OpenTrace {
  return { id: "6f1c2a0e9b3d4c55", source: "server", fileName: null, fileText: null, base: { duration_ns: durationNs } as unknown as Trace, loading: false, error: null, ...over };
}

function hrefs(menu: ExportMenu): (string | null)[] {
  return [...menu.el.querySelectorAll("a")].map((a) => a.getAttribute("href"));
}

describe("export menu", () => {
  it("links a finished server trace to the endpoint's Chrome and OTLP downloads", () => {
    const menu = new ExportMenu();
    menu.update(open(), "/__lifecycle__/api/");
    expect(menu.el.hidden).toBe(false);
    expect(hrefs(menu)).toEqual([
      "/__lifecycle__/api/traces/6f1c2a0e9b3d4c55/?format=chrome&download=1",
      "/__lifecycle__/api/traces/6f1c2a0e9b3d4c55/?format=otlp&download=1",
    ]);
  });

  it("is hidden without a trace, for a file and while the request runs", () => {
    const menu = new ExportMenu();
    menu.update(null, "/api/");
    expect(menu.el.hidden).toBe(true);
    menu.update(open({ source: "file", fileName: "t.json" }), "/api/");
    expect(menu.el.hidden).toBe(true);
    menu.update(open({}, null), "/api/");
    expect(menu.el.hidden).toBe(true);
  });

  it("closes once a format is chosen", () => {
    const menu = new ExportMenu();
    menu.update(open(), "/api/");
    menu.el.open = true;
    menu.el.querySelector("a")?.dispatchEvent(new MouseEvent("click"));
    expect(menu.el.open).toBe(false);
  });

  it("escapes the trace id", () => {
    expect(exportHref("/api/", "a/b", "otlp")).toBe("/api/traces/a%2Fb/?format=otlp&download=1");
  });
});
