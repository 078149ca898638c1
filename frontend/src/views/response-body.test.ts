// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { bodyText, responseBodySection } from "./response-body";

const base = { status: 200, headers: {}, size: 10, streaming: false };

describe("response body", () => {
  it("pretty-prints JSON and keeps other text as it came", () => {
    expect(bodyText('{"a":[1,2]}')).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
    expect(bodyText("ok\n")).toBe("ok\n");
    expect(bodyText("{not json")).toBe("{not json");
  });

  it("shows the body, or why it was not kept, or nothing for older files", () => {
    expect(responseBodySection({ ...base, body: '{"token": "********"}', body_omitted: null })?.querySelector("[data-testid=response-body]")?.textContent).toBe(
      '{\n  "token": "********"\n}',
    );
    expect(responseBodySection({ ...base, body: null, body_omitted: "HTML" })?.textContent).toContain("Not kept: HTML");
    expect(responseBodySection(base)).toBeNull();
  });
});
