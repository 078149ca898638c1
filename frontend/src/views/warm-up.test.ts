// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { warmUp, warmUpWhenIdle } from "./warm-up";

let host: HTMLElement;
let warn: ReturnType<typeof vi.spyOn>;

beforeEach(() => {
  warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
  document.body.replaceChildren();
  host = document.createElement("div");
  host.className = "lifecycle-app";
  host.appendChild(document.createElement("main"));
  document.body.appendChild(host);
});

afterEach(() => vi.restoreAllMocks());

describe("warm-up", () => {
  it("shows the sample trace out of sight, with none of the real view's test ids, then removes it", async () => {
    let during: { box: Element | null; rows: number; testids: number } | null = null;
    const done = new Promise<void>((resolve) => {
      warmUp(host, resolve);
      const box = host.querySelector(".warm-up");
      during = { box, rows: box?.querySelectorAll(".wf-row").length ?? 0, testids: document.querySelectorAll("[data-testid]").length };
    });
    await done;
    expect(during!.box?.getAttribute("aria-hidden")).toBe("true");
    expect(during!.rows).toBeGreaterThan(5);
    expect(during!.testids).toBe(0);
    expect(host.children.length).toBe(1); // only what was there before
    expect(host.querySelector(".warm-up")).toBeNull();
    expect(warn).not.toHaveBeenCalled();
  });

  it("a failure is only logged: the page goes on", async () => {
    const broken = document.createElement("div");
    broken.append = () => {
      throw new Error("no room");
    };
    await new Promise<void>((resolve) => warmUp(broken, resolve));
    expect(warn).toHaveBeenCalledWith("[lifecycle] warm-up failed", expect.any(Error));
  });

  it("runs when the page is idle, unless a trace is open by then", async () => {
    const settled = () => new Promise<string | undefined>((resolve) => {
      const poll = (): void => (host.dataset["warmUp"] ? resolve(host.dataset["warmUp"]) : void setTimeout(poll, 10));
      poll();
    });
    warmUpWhenIdle(host, () => true);
    expect(host.dataset["warmUp"]).toBeUndefined(); // not before the page is idle
    expect(await settled()).toBe("done");
    expect(host.querySelector(".warm-up")).toBeNull();
    delete host.dataset["warmUp"];
    warmUpWhenIdle(host, () => false);
    expect(await settled()).toBe("skipped");
  });
});
