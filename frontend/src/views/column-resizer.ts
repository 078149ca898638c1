// A column resizable by dragging its edge (or ←/→ on the focused edge), double-click for the default
// width, the chosen width remembered in localStorage.

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

/** A width kept in localStorage (null when none, or storage is unavailable). */
export function storedPx(key: string): number | null {
  try {
    const v = Number(localStorage.getItem(key));
    return Number.isFinite(v) && v > 0 ? v : null;
  } catch {
    return null;
  }
}

export function storePx(key: string, px: number | null): void {
  try {
    if (px === null) localStorage.removeItem(key);
    else localStorage.setItem(key, String(Math.round(px)));
  } catch {
    // private mode or storage disabled: the width lasts for this page only
  }
}

export interface ColumnOptions {
  /** localStorage key of the chosen width. */
  key: string;
  label: string;
  /** Default: this share of the container, within [defaultMinPx, defaultMaxPx]. */
  share: number;
  defaultMinPx: number;
  defaultMaxPx: number;
  /** Any width: at least minPx, and leaving restMinPx of the container to the rest. */
  minPx: number;
  restMinPx: number;
  /** Width of the container now (0 when unknown, e.g. not laid out). */
  containerPx(): number;
  changed(): void;
}

export class ResizableColumn {
  readonly handle: HTMLElement;
  private chosen: number | null;

  constructor(private readonly o: ColumnOptions) {
    this.chosen = storedPx(o.key);
    this.handle = columnResizer(
      {
        current: () => this.width(),
        resize: (px, done) => {
          this.chosen = px === null ? null : this.clamp(px);
          if (done) storePx(o.key, this.chosen);
          o.changed();
        },
      },
      o.label,
    );
  }

  /** The width to show: the chosen one, or the default share. */
  width(): number {
    const w = this.o.containerPx();
    return Math.round(this.clamp(this.chosen ?? Math.min(this.o.defaultMaxPx, Math.max(this.o.defaultMinPx, w * this.o.share))));
  }

  private clamp(px: number): number {
    const w = this.o.containerPx();
    const max = w > 0 ? Math.max(this.o.minPx, w - this.o.restMinPx) : Infinity;
    return Math.max(this.o.minPx, Math.min(max, px));
  }
}
