// The error banner: malformed frames, traces that fail validation, files that do not load.

import type { AppState } from "../state";
import { h, toggle } from "./dom";

export class ErrorBanner {
  readonly el: HTMLElement;
  private readonly list: HTMLUListElement;
  private shown: readonly string[] = [];

  constructor(onDismiss: () => void) {
    this.list = h("ul", { class: "error-list" });
    const close = h("button", { class: "btn btn-small", text: "Dismiss", attrs: { type: "button" } });
    close.addEventListener("click", onDismiss);
    this.el = h("div", { class: "error-banner", testid: "error-banner", attrs: { role: "alert" } }, this.list, close);
    this.el.hidden = true;
  }

  update(s: AppState): void {
    if (s.errors === this.shown) return;
    this.shown = s.errors;
    this.list.replaceChildren(...s.errors.map((e) => h("li", { text: e })));
    toggle(this.el, s.errors.length > 0);
  }
}

/** Shown while the socket is down: the data stays readable. */
export class ConnectionBanner {
  readonly el: HTMLElement;
  private readonly text: HTMLElement;

  constructor() {
    this.text = h("span");
    this.el = h("div", { class: "connection-banner", testid: "connection-banner", attrs: { role: "status" } }, this.text);
    this.el.hidden = true;
  }

  update(s: AppState, nowMs: number): void {
    const down = s.connection === "reconnecting" || s.connection === "disconnected";
    toggle(this.el, down);
    if (!down) return;
    const wait = s.retryAt !== null ? Math.max(0, Math.ceil((s.retryAt - nowMs) / 1000)) : null;
    const next = wait === null ? "Connecting…" : `Retrying in ${wait} s.`;
    const text = `Connection to the server lost. ${next} What is shown stays readable.`;
    if (this.text.textContent !== text) this.text.textContent = text;
  }
}
