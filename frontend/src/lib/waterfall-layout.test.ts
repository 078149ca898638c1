import { describe, expect, it } from "vitest";
import {
  MIN_BAR_PX,
  axisEndNs,
  axisTicks,
  barFor,
  labelSide,
  niceStep,
  nsToX,
  panWindow,
  visibleRange,
  xToNs,
  zoomWindow,
} from "./waterfall-layout";
import { span } from "./test-helpers";

const win = { start: 0, end: 10_000_000 };

describe("waterfall layout", () => {
  it("maps start and duration to x and width", () => {
    const b = barFor(span(1, 0, 2_500_000, 5_000_000), win, 1000, 0);
    expect(b).toEqual({ x: 250, width: 500, open: false });
    expect(nsToX(10_000_000, win, 1000)).toBe(1000);
    expect(xToNs(500, win, 1000)).toBe(5_000_000);
  });

  it("gives tiny and zero-length spans the minimum width", () => {
    expect(barFor(span(1, 0, 100, 0), win, 1000, 0).width).toBe(MIN_BAR_PX);
    expect(barFor(span(1, 0, 100, 10), win, 1000, 0).width).toBe(MIN_BAR_PX);
  });

  it("stretches open spans to now", () => {
    const b = barFor(span(1, 0, 1_000_000, null), win, 1000, 4_000_000);
    expect(b).toEqual({ x: 100, width: 300, open: true });
    // "now" before the start (clock estimate lagging): still a minimal bar at the start
    expect(barFor(span(1, 0, 1_000_000, null), win, 1000, 0).width).toBe(MIN_BAR_PX);
  });

  it("respects a zoomed window", () => {
    const b = barFor(span(1, 0, 5_000_000, 1_000_000), { start: 4_000_000, end: 6_000_000 }, 1000, 0);
    expect(b.x).toBe(500);
    expect(b.width).toBe(500);
  });

  it("grows the live axis in 1.25x steps and fixes it when done", () => {
    expect(axisEndNs(10, 5, 0)).toBe(10);
    expect(axisEndNs(10, 50, 0)).toBe(50);
    expect(axisEndNs(null, 500_000, 0)).toBe(1_000_000);
    expect(axisEndNs(null, 1_100_000, 1_000_000)).toBe(1_250_000);
    expect(axisEndNs(null, 1_300_000, 1_250_000)).toBeCloseTo(1_562_500);
    expect(axisEndNs(null, 1_000, 1_562_500)).toBe(1_562_500);
  });

  it("places ticks on 1-2-5 steps", () => {
    expect(niceStep(0.7)).toBe(1);
    expect(niceStep(130)).toBe(200);
    expect(niceStep(4000)).toBe(5000);
    const ticks = axisTicks(win, 1000, 90);
    expect(ticks[0]).toEqual({ ns: 0, x: 0 });
    expect(ticks[1]?.ns).toBe(1_000_000);
    expect(ticks.at(-1)?.ns).toBe(10_000_000);
  });

  it("puts labels where they fit", () => {
    expect(labelSide({ x: 10, width: 10, open: false }, 40, 1000)).toBe("right");
    expect(labelSide({ x: 900, width: 90, open: false }, 40, 1000)).toBe("left");
    expect(labelSide({ x: 0, width: 1000, open: false }, 40, 1000)).toBe("none");
  });

  it("zooms around a point and pans within limits", () => {
    const z = zoomWindow(win, 5_000_000, 0.5, 10_000_000);
    expect(z).toEqual({ start: 2_500_000, end: 7_500_000 });
    expect(zoomWindow(z, 5_000_000, 10, 10_000_000)).toEqual(win);
    expect(panWindow(z, 10_000_000, 10_000_000)).toEqual({ start: 5_000_000, end: 10_000_000 });
    expect(panWindow(z, -10_000_000, 10_000_000)).toEqual({ start: 0, end: 5_000_000 });
  });

  it("computes the visible rows with overscan", () => {
    expect(visibleRange(0, 240, 10_000, 24, 5)).toEqual([0, 15]);
    expect(visibleRange(2400, 240, 10_000, 24, 5)).toEqual([95, 115]);
    expect(visibleRange(0, 240, 3, 24, 5)).toEqual([0, 3]);
  });
});
