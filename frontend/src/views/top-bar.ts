// Top bar: connection pill + Retry now, Pause, filter, dropped events, Open trace file, Save trace.

import { parseFilter } from "../lib/filter";
import type { AppState, ConnectionState } from "../state";
import { plural } from "../lib/format";
import { h, setAttr, setText, toggle } from "./dom";
import { ExportMenu } from "./export-menu";

export interface TopBarActions {
  retryNow(): void;
  /** Reads the request list now (while it is polled: no live socket). */
  refresh(): void;
  togglePause(): void;
  setFilter(text: string): void;
  openFile(file: File): void;
  /** Compare the open trace with another one (views/compare-view.ts). */
  compare(): void;
  /** Empties the list, here and on the server. */
  clear(): void;
}

const PILL_TEXT: Record<ConnectionState, string> = {
  connecting: "connecting",
  live: "live",
  reconnecting: "reconnecting",
  disconnected: "disconnected",
  refused: "refused",
  off: "live updates off",
};

/** The pill: the socket's state, except that an open socket over a channel layer that is down is not live. */
export function pillState(s: Pick<AppState, "connection" | "layer" | "layerError">): { state: string; text: string; title?: string } {
  if (s.connection === "live" && s.layer === "down") {
    return { state: "layer-down", text: "channel layer down: no live events", title: s.layerError ?? "The server's channel layer does not deliver" };
  }
  if (s.connection === "live" && s.layer === "none") {
    return { state: "no-layer", text: "no live events", title: "The site has no channel layer (CHANNEL_LAYERS): only what the API lists" };
  }
  return { state: s.connection, text: PILL_TEXT[s.connection] };
}

export const FILTER_HELP =
  "Filter requests: path or query text, status:5xx, status:404, status:400-499, method:post, view:book_list, url:book-list, sql:shop_author, template:_card.html, user:alice, slower:200ms, faster:5ms, after:14:02, before:14:10, since:5m, has:n+1, has:error, has:dup, has:user, is:running, kind:websocket; prefix - to negate";

export class TopBar {
  readonly el: HTMLElement;
  readonly filterInput: HTMLInputElement;
  private readonly pill: HTMLElement;
  private readonly retry: HTMLButtonElement;
  private readonly refresh: HTMLButtonElement;
  private readonly pause: HTMLButtonElement;
  private readonly pausedNote: HTMLElement;
  private readonly dropped: HTMLElement;
  private readonly missed: HTMLElement;
  /** What the filter did not understand, beside the box. */
  private readonly filterReport: HTMLElement;
  private readonly save: HTMLAnchorElement;
  private readonly fileInput: HTMLInputElement;
  private readonly compare: HTMLButtonElement;
  private saveBlobUrl: string | null = null;
  private saveBlobText: (() => string) | null = null;
  private saveKey = "";
  private readonly exportMenu = new ExportMenu();

  constructor(actions: TopBarActions) {
    this.pill = h("span", { class: "pill", testid: "connection-state", attrs: { role: "status", "data-state": "connecting" }, text: "connecting" });
    this.retry = h("button", { class: "btn btn-small", testid: "retry-button", text: "Retry now", attrs: { type: "button" } });
    this.retry.addEventListener("click", () => actions.retryNow());
    this.refresh = h("button", { class: "btn btn-small", testid: "refresh-button", text: "Refresh", title: "Read the request list from the server now", attrs: { type: "button" } });
    this.refresh.addEventListener("click", () => actions.refresh());
    this.refresh.hidden = true;
    this.pause = h("button", { class: "btn", testid: "pause-button", text: "Pause", title: "Pause the live view (Space)", attrs: { type: "button", "aria-pressed": "false" } });
    this.pause.addEventListener("click", () => actions.togglePause());
    this.pausedNote = h("span", { class: "paused-note", testid: "paused-note" });
    this.filterInput = h("input", {
      class: "filter",
      testid: "filter-input",
      title: FILTER_HELP,
      attrs: { type: "search", placeholder: "Filter  ( / )   books status:5xx sql:author user:alice since:5m", "aria-label": "Filter requests", spellcheck: "false", autocomplete: "off" },
    });
    this.filterInput.addEventListener("input", () => actions.setFilter(this.filterInput.value));
    this.filterReport = h("span", { class: "filter-report", testid: "filter-errors", attrs: { role: "status", "aria-live": "polite" } });
    this.filterReport.hidden = true;
    const clear = h("button", { class: "btn", testid: "clear-button", text: "Clear", title: "Remove every recorded request, from this list and from the server", attrs: { type: "button" } });
    clear.addEventListener("click", () => actions.clear());
    this.dropped = h("span", { class: "dropped", testid: "dropped-events", title: "Events the server could not send (the dashboard fell behind or the buffer was full)" });
    this.dropped.hidden = true;
    this.missed = h("span", { class: "missed", testid: "missed-events", attrs: { role: "status" }, title: "Live events the server did not send to this page because it read them too slowly (the rows and traces are still on the server: open them)" });
    this.missed.hidden = true;
    this.fileInput = h("input", { class: "visually-hidden", testid: "open-file-input", attrs: { type: "file", accept: ".json,application/json", "aria-label": "Open trace file" } });
    this.fileInput.addEventListener("change", () => {
      const f = this.fileInput.files?.[0];
      if (f) actions.openFile(f);
      this.fileInput.value = "";
    });
    const open = h("label", { class: "btn", title: "Open a saved trace JSON (or drop it on the page)" }, "Open trace file", this.fileInput);
    this.save = h("a", { class: "btn", testid: "save-trace", text: "Save trace", title: "Download the open trace as JSON" });
    this.save.hidden = true;
    this.save.addEventListener("click", () => {
      if (this.saveBlobText && !this.saveBlobUrl) {
        this.saveBlobUrl = URL.createObjectURL(new Blob([this.saveBlobText()], { type: "application/json" }));
        this.save.href = this.saveBlobUrl;
      }
    });
    this.compare = h("button", { class: "btn", testid: "compare-button", text: "Compare with…", title: "Compare the open trace with another request or a trace file", attrs: { type: "button" } });
    this.compare.addEventListener("click", () => actions.compare());
    this.compare.hidden = true;
    this.el = h(
      "header",
      { class: "top-bar", testid: "top-bar" },
      h("h1", { class: "app-title", text: "Request lifecycle" }),
      this.pill,
      this.retry,
      this.refresh,
      this.pause,
      this.pausedNote,
      this.filterInput,
      this.filterReport,
      clear,
      this.dropped,
      this.missed,
      h("span", { class: "spacer" }),
      open,
      this.save,
      this.exportMenu.el,
      this.compare,
    );
  }

  update(s: AppState, apiBase: string, pausedNew: number, nowMs: number): void {
    const pill = pillState(s);
    setText(this.pill, pill.text);
    setAttr(this.pill, "data-state", pill.state);
    const wait = s.retryAt !== null ? Math.max(0, Math.ceil((s.retryAt - nowMs) / 1000)) : null;
    this.pill.title =
      wait !== null
        ? `Next attempt in ${wait} s`
        : s.connection === "refused"
          ? "The server refused the live connection: see the banner"
          : s.connection === "off"
            ? "The server has no live events: the list is read every few seconds"
            : (pill.title ?? "");
    toggle(this.retry, s.connection !== "live" && s.connection !== "connecting" && s.connection !== "off");
    toggle(this.refresh, s.polling);
    setText(this.pause, s.paused ? "Resume" : "Pause");
    setAttr(this.pause, "aria-pressed", String(s.paused));
    toggle(this.pausedNote, s.paused);
    setText(this.pausedNote, pausedNew > 0 ? `Paused · ${pausedNew} new` : "Paused");
    toggle(this.dropped, s.droppedEvents > 0);
    setText(this.dropped, `Dropped events: ${s.droppedEvents}`);
    toggle(this.missed, s.missedEvents > 0);
    setText(this.missed, `${plural(s.missedEvents, "live event")} missed: the dashboard read too slowly`);
    if (this.filterInput.value !== s.filterText && document.activeElement !== this.filterInput) this.filterInput.value = s.filterText;
    const errors = parseFilter(s.filterText).errors;
    this.filterInput.classList.toggle("invalid", errors.length > 0);
    this.filterInput.title = errors.length ? `${errors.join("\n")}\n\n${FILTER_HELP}` : FILTER_HELP;
    toggle(this.filterReport, errors.length > 0);
    setText(this.filterReport, errors.length ? `Not understood: ${errors.join("; ")}` : "");
    this.filterReport.title = errors.join("\n");
    this.updateSave(s, apiBase);
    this.exportMenu.update(s.open, apiBase);
    toggle(this.compare, !!s.open?.base && s.open.base.duration_ns !== null);
  }

  private updateSave(s: AppState, apiBase: string): void {
    const o = s.open;
    const key = o ? `${o.source}:${o.id}:${o.fileName ?? ""}:${o.base ? (o.base.duration_ns === null ? 1 : 2) : 0}` : "";
    if (key === this.saveKey) return;
    this.saveKey = key;
    if (this.saveBlobUrl) URL.revokeObjectURL(this.saveBlobUrl);
    this.saveBlobUrl = null;
    this.saveBlobText = null;
    if (!o) {
      this.save.hidden = true;
      this.save.removeAttribute("href");
      return;
    }
    if (o.source === "server" && (!o.base || o.base.duration_ns === null)) {
      // The API serves a trace once the request has finished.
      this.save.hidden = true;
      this.save.removeAttribute("href");
      return;
    }
    this.save.hidden = false;
    if (o.source === "server") {
      this.save.href = `${apiBase}traces/${encodeURIComponent(o.id)}/?download=1`;
      this.save.removeAttribute("download");
    } else {
      // The Blob is made on the first click: a big file need not be copied just for being opened.
      const text = o.fileText;
      const base = o.base;
      this.saveBlobText = () => text ?? (base ? JSON.stringify(base, null, 2) : "");
      this.save.href = "#";
      this.save.download = o.fileName ?? `trace-${o.id}.json`;
    }
  }
}
