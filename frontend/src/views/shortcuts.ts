// Keyboard shortcuts (bound by KeyboardEvent.code, so letters keep their place on any layout) and
// the "?" help that lists them.

import { h, isTextEntry } from "./dom";
import type { Waterfall } from "./waterfall";

export interface ShortcutActions {
  help: HTMLElement;
  waterfall: Waterfall;
  focusFilter(): void;
  followNewest(): void;
  togglePause(): void;
  moveSelection(delta: number): void;
  clearSelection(): void;
  selectedSpanId(): number | null;
}

export const SHORTCUTS: [string, string][] = [
  ["Space", "pause / resume the live view"],
  ["/", "filter requests"],
  ["↑ ↓", "previous / next request"],
  ["End", "back to the newest requests"],
  ["Esc", "clear the span selection, then close the trace"],
  ["W S", "zoom in / out (Shift: more)"],
  ["A D", "pan left / right (Shift: more)"],
  ["0", "reset zoom"],
  ["F", "fit the selected span"],
  ["[ ]", "expand all / collapse all"],
  ["↑ ↓ ← →", "in the focused waterfall: move, collapse, expand"],
  ["Ctrl + wheel", "zoom around the pointer; double-click fits a span"],
  ["?", "show / hide this help"],
];

export function shortcutsHelp(onClose: () => void): HTMLElement {
  const close = h("button", { class: "btn btn-small", text: "Close", attrs: { type: "button" } });
  close.addEventListener("click", onClose);
  const el = h(
    "div",
    { class: "help", testid: "shortcuts-help", attrs: { role: "dialog", "aria-label": "Keyboard shortcuts" } },
    h("h2", { text: "Keyboard shortcuts" }),
    h("table", { class: "kv" }, ...SHORTCUTS.map(([k, what]) => h("tr", {}, h("th", {}, h("kbd", { text: k })), h("td", { text: what })))),
    close,
  );
  el.hidden = true;
  return el;
}

export function bindShortcuts(a: ShortcutActions, signal: AbortSignal): void {
  document.addEventListener(
    "keydown",
    (ev) => {
      if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      const target = ev.target;
      if (ev.key === "Escape") {
        if (isTextEntry(target)) (target as HTMLElement).blur();
        else if (!a.help.hidden) a.help.hidden = true;
        else a.clearSelection();
        return;
      }
      if (isTextEntry(target)) return;
      const wf = a.waterfall;
      const big = ev.shiftKey;
      switch (ev.code) {
        case "Slash":
          if (ev.key === "?") a.help.hidden = !a.help.hidden;
          else if (ev.key === "/") a.focusFilter();
          else return;
          break;
        case "End":
        case "Home":
          a.followNewest();
          break;
        case "Space":
          // A focused button or link handles Space itself.
          if (target instanceof HTMLElement && target.closest("button, a, label, summary")) return;
          a.togglePause();
          break;
        case "ArrowDown":
        case "ArrowUp":
          a.moveSelection(ev.code === "ArrowDown" ? 1 : -1);
          break;
        case "KeyW":
          wf.zoomBy(big ? 0.5 : 0.8);
          break;
        case "KeyS":
          wf.zoomBy(big ? 2 : 1.25);
          break;
        case "KeyA":
          wf.panBy(big ? -0.5 : -0.1);
          break;
        case "KeyD":
          wf.panBy(big ? 0.5 : 0.1);
          break;
        case "Digit0":
          wf.resetZoom();
          break;
        case "KeyF": {
          const sel = a.selectedSpanId();
          if (sel !== null) wf.fitSpan(sel);
          break;
        }
        case "BracketLeft":
          wf.setAllCollapsed(false);
          break;
        case "BracketRight":
          wf.setAllCollapsed(true);
          break;
        default:
          return;
      }
      ev.preventDefault();
    },
    { signal },
  );
}
