import { describe, expect, it } from "vitest";
import { PendingRows } from "./pending-rows";

const rows = (...ids: string[]): { id: string }[] => ids.map((id) => ({ id }));
const ids = (xs: readonly { id: string }[]): string[] => xs.map((x) => x.id);

describe("pending rows", () => {
  it("shows every row, newest on top, while the user is not reading the list", () => {
    const p = new PendingRows();
    expect(ids(p.split(rows("b", "a"), false).shown)).toEqual(["b", "a"]);
    const next = p.split(rows("c", "b", "a"), false);
    expect(ids(next.shown)).toEqual(["c", "b", "a"]);
    expect(next.waiting).toEqual([]);
  });

  it("holds rows that arrive while the pointer is over the list or it is scrolled", () => {
    const p = new PendingRows();
    p.split(rows("b", "a"), false);
    const held = p.split(rows("d", "c", "b", "a"), true);
    expect(ids(held.shown)).toEqual(["b", "a"]);
    expect(ids(held.waiting)).toEqual(["d", "c"]);
    // Still holding: the earlier arrivals still wait, with the new one.
    const more = p.split(rows("e", "d", "c", "b", "a"), true);
    expect(ids(more.shown)).toEqual(["b", "a"]);
    expect(ids(more.waiting)).toEqual(["e", "d", "c"]);
  });

  it("updates shown rows in place and drops evicted ones", () => {
    const p = new PendingRows<{ id: string; done?: boolean }>();
    p.split([{ id: "b" }, { id: "a" }], false);
    const done = { id: "b", done: true };
    const held = p.split([{ id: "c" }, done], true);
    expect(held.shown).toEqual([done]);
    expect(ids(held.waiting)).toEqual(["c"]);
  });

  it("shows the waiting rows once the user stops reading", () => {
    const p = new PendingRows();
    p.split(rows("a"), false);
    p.split(rows("b", "a"), true);
    const after = p.split(rows("b", "a"), false);
    expect(ids(after.shown)).toEqual(["b", "a"]);
    expect(after.waiting).toEqual([]);
    expect(p.holding).toBe(false);
  });

  it("shows them on release (the N new row), and holds later ones again", () => {
    const p = new PendingRows();
    p.split(rows("a"), false);
    p.split(rows("c", "b", "a"), true);
    p.release();
    const released = p.split(rows("c", "b", "a"), true);
    expect(ids(released.shown)).toEqual(["c", "b", "a"]);
    expect(released.waiting).toEqual([]);
    const later = p.split(rows("d", "c", "b", "a"), true);
    expect(ids(later.waiting)).toEqual(["d"]);
    expect(ids(later.shown)).toEqual(["c", "b", "a"]);
  });

  it("keeps the array it was given when nothing waits", () => {
    const p = new PendingRows();
    const all = rows("b", "a");
    p.split(all, false);
    expect(p.split(all, true).shown).toBe(all);
  });
});
