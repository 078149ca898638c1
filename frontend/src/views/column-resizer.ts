// A drag handle on the edge of a column: drag (or ←/→ when focused) to resize, double-click to go back
// to the default width. The width itself belongs to the owner: `current` reads it, `resize` sets it.

import { h } from "./dom";

export interface ResizeTarget {
  /** Width shown now, in CSS pixels. */
  current(): number;
  /** New width asked for (null: back to the default); `done` once the drag ends. */
  resize(px: number | null, done: boolean): void;
}

const KEY_STEP_PX = 16;

export function columnResizer(target: ResizeTarget, label: string): HTMLElement {
  const el = h("div", {
    class: "col-resizer",
    testid: "waterfall-resizer",
    title: `${label}: drag, or ← → when focused; double-click for the default width`,
    attrs: { role: "separator", "aria-orientation": "vertical", "aria-label": label, tabindex: "0" },
  });
  let drag: { pointer: number; startX: number; startW: number } | null = null;
  el.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    ev.preventDefault(); // no text selection while dragging
    drag = { pointer: ev.pointerId, startX: ev.clientX, startW: target.current() };
    el.setPointerCapture?.(ev.pointerId);
    el.classList.add("dragging");
  });
  el.addEventListener("pointermove", (ev) => {
    if (drag && ev.pointerId === drag.pointer) target.resize(drag.startW + ev.clientX - drag.startX, false);
  });
  const end = (ev: PointerEvent): void => {
    if (!drag || ev.pointerId !== drag.pointer) return;
    drag = null;
    el.classList.remove("dragging");
    target.resize(target.current(), true);
  };
  el.addEventListener("pointerup", end);
  el.addEventListener("pointercancel", end);
  el.addEventListener("dblclick", () => target.resize(null, true));
  el.addEventListener("keydown", (ev) => {
    if (ev.key !== "ArrowLeft" && ev.key !== "ArrowRight") return;
    ev.preventDefault();
    ev.stopPropagation();
    const step = (ev.shiftKey ? 4 : 1) * KEY_STEP_PX * (ev.key === "ArrowLeft" ? -1 : 1);
    target.resize(target.current() + step, true);
  });
  return el;
}
