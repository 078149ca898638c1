// Polls the list endpoint (`${apiBase}traces/`) where no live websocket is: a server without Channels or
// without a channel layer (DashboardConfig.live false), or a websocket whose handshake keeps failing.
// One request at a time; none while the tab is hidden, and one as soon as it is visible again.

import { readLimited } from "./lib/trace-limits";
import { errorText, parseTraceList } from "./lib/trace-parse";
import type { ListRow } from "./lib/trace-format";

export const POLL_INTERVAL_MS = 5_000;

export interface PollHandlers {
  onRows(rows: ListRow[], droppedEvents: number | null): void;
  /** After every attempt: the error text, or null when the list was read. */
  onResult(error: string | null, warnings: string[]): void;
}

type VisibilityDoc = Pick<Document, "visibilityState" | "addEventListener" | "removeEventListener">;

export class ListPoller {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight: Promise<void> | null = null;
  private active = false;
  private readonly onVisibility = (): void => {
    if (this.active && this.doc.visibilityState === "visible" && !this.inFlight) void this.refreshNow();
  };

  constructor(
    private readonly url: string,
    private readonly fetchFn: typeof fetch,
    private readonly handlers: PollHandlers,
    private readonly maxBytes: number,
    readonly intervalMs = POLL_INTERVAL_MS,
    private readonly doc: VisibilityDoc = document,
  ) {}

  get running(): boolean {
    return this.active;
  }

  /** Reads the list now, then every intervalMs while the tab is visible. Idempotent. */
  start(): void {
    if (this.active) return;
    this.active = true;
    this.doc.addEventListener("visibilitychange", this.onVisibility);
    void this.refreshNow();
  }

  stop(): void {
    this.active = false;
    this.doc.removeEventListener("visibilitychange", this.onVisibility);
    this.clearTimer();
  }

  /** Reads the list at once (the Refresh button); a read already under way is not doubled. */
  refreshNow(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    this.clearTimer();
    this.inFlight = this.read().finally(() => {
      this.inFlight = null;
      this.schedule();
    });
    return this.inFlight;
  }

  private async read(): Promise<void> {
    let error: string | null = null;
    let warnings: string[] = [];
    try {
      const res = await this.fetchFn(this.url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const answer = parseTraceList(await readLimited(res, this.maxBytes, "The request list"), this.url);
      warnings = answer.warnings;
      this.handlers.onRows(answer.rows, answer.droppedEvents);
    } catch (e) {
      error = `Could not read the request list from ${this.url}: ${errorText(e)}`;
    }
    this.handlers.onResult(error, warnings);
  }

  private schedule(): void {
    this.clearTimer();
    if (!this.active) return;
    // A hidden tab is not polled: visibilitychange reads the list when it is shown again.
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.active && this.doc.visibilityState === "visible") void this.refreshNow();
    }, this.intervalMs);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
