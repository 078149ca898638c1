// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { Span } from "../lib/trace-format";
import { renderSpanDetail } from "./span-detail";

function httpSpan(attrs: Record<string, unknown>): Span {
  return { id: 7, parent_id: 3, kind: "http_out", name: "GET api.example.com/v1/books", start_ns: 1_000_000, duration_ns: 42_000_000, attrs };
}

const cells = (root: HTMLElement, testid: string) =>
  Object.fromEntries(Array.from(root.querySelectorAll(`[data-testid="${testid}"] tr`)).map((tr) => [tr.querySelector("th")?.textContent, tr.querySelector("td")?.textContent]));

describe("http_out span detail", () => {
  it("shows the call, its answer and the line that made it", () => {
    const root = renderSpanDetail(
      httpSpan({
        method: "GET",
        url: "https://user:********@api.example.com/v1/books?token=********&page=2",
        status: 200,
        request_size: 0,
        response_size: 1048576,
        redirects: 1,
        library: "requests",
        stack: [["shop/views.py", 42, "book_list"], ["shop/api.py", 7, "fetch"]],
      }),
      null,
    );
    expect(cells(root, "detail-http")).toEqual({
      method: "GET",
      URL: "https://user:********@api.example.com/v1/books?token=********&page=2",
      status: "200",
      "request size": "0 B",
      "response size": "1.0 MiB (1048576 bytes)",
      "redirects followed": "1",
      library: "requests",
    });
    const frames = Array.from(root.querySelectorAll('[data-testid="stack"] li')).map((li) => li.textContent);
    expect(frames).toEqual(["shop/views.py:42 book_list", "shop/api.py:7 fetch"]);
    expect(root.querySelector('[data-testid="span-attrs"]')).toBeNull(); // every attribute has its place
    expect(root.querySelector('[data-testid="detail-http-error"]')).toBeNull();
  });

  it("shows a failed call's error and cause, sizes it does not know as unknown", () => {
    const root = renderSpanDetail(
      httpSpan({
        method: "POST",
        url: "http://127.0.0.1:9/hook",
        status: null,
        library: "httpx",
        error: "ConnectError: All connection attempts failed",
        cause: "ConnectionRefusedError: [Errno 111] Connect call failed",
        stack: [],
      }),
      null,
    );
    const shown = cells(root, "detail-http");
    expect([shown["status"], shown["request size"], shown["response size"]]).toEqual(["no response", "unknown", "unknown"]);
    expect(shown["redirects followed"]).toBeUndefined();
    expect(root.querySelector('[data-testid="detail-http-error"]')?.textContent).toBe("ConnectError: All connection attempts failed");
    expect(root.querySelector('[data-testid="detail-http-cause"]')?.textContent).toBe("Caused by ConnectionRefusedError: [Errno 111] Connect call failed");
  });

  it("renders what the remote side controls as text, never as markup", () => {
    const hostile = '<img src=x onerror="window.pwned=1">';
    const root = renderSpanDetail(
      httpSpan({ method: hostile, url: `http://evil.example/${hostile}`, status: 500, library: hostile, error: hostile, stack: [[hostile, 1, hostile]] }),
      null,
    );
    expect(root.querySelector("img")).toBeNull();
    expect(cells(root, "detail-http")["URL"]).toBe(`http://evil.example/${hostile}`);
    expect(root.querySelector('[data-testid="detail-http-error"]')?.textContent).toBe(hostile);
  });
});
