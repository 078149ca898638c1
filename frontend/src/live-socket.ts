// The websocket: connects, reconnects by itself with backoff, pings, and hands text frames on.

import { ATTEMPTS_BEFORE_DISCONNECTED, backoffDelay } from "./lib/backoff";
import type { ClientMessage } from "./lib/trace-format";
import type { ConnectionState } from "./state";

export interface SocketHandlers {
  onState(state: ConnectionState, retryAt: number | null): void;
  onMessage(data: unknown): void;
  /** Called on every successful (re)connect; `reconnect` is false the first time. */
  onOpen?(reconnect: boolean): void;
}

export const PING_INTERVAL_MS = 25_000;

export class LiveSocket {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private everOpened = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly handlers: SocketHandlers,
    private readonly WS: typeof WebSocket = WebSocket,
  ) {}

  connect(): void {
    this.stopped = false;
    this.clearRetry();
    const state: ConnectionState =
      this.attempt >= ATTEMPTS_BEFORE_DISCONNECTED ? "disconnected" : this.everOpened || this.attempt > 0 ? "reconnecting" : "connecting";
    this.handlers.onState(state, null);
    let ws: WebSocket;
    try {
      ws = new this.WS(this.url);
    } catch (e) {
      console.warn(`[lifecycle] cannot open ${this.url}: ${(e as Error).message}`);
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      const reconnect = this.everOpened;
      this.everOpened = true;
      this.attempt = 0;
      this.handlers.onState("live", null);
      this.handlers.onOpen?.(reconnect);
      this.pingTimer = setInterval(() => this.send({ type: "ping" }), PING_INTERVAL_MS);
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (ws === this.ws) this.handlers.onMessage(ev.data);
    };
    ws.onclose = () => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.clearPing();
      if (!this.stopped) this.scheduleRetry();
    };
    ws.onerror = () => {
      // A close event always follows; reconnecting happens there.
    };
  }

  /** Skip the wait and reconnect at once. */
  retryNow(): void {
    if (this.ws && this.ws.readyState === this.WS.OPEN) return;
    this.attempt = 0;
    this.dropSocket();
    this.connect();
  }

  send(msg: ClientMessage): void {
    if (this.ws && this.ws.readyState === this.WS.OPEN) this.ws.send(JSON.stringify(msg));
  }

  close(): void {
    this.stopped = true;
    this.clearRetry();
    this.dropSocket();
    this.handlers.onState("disconnected", null);
  }

  private scheduleRetry(): void {
    const delay = backoffDelay(this.attempt);
    this.attempt++;
    const state: ConnectionState = this.attempt >= ATTEMPTS_BEFORE_DISCONNECTED ? "disconnected" : "reconnecting";
    const at = Date.now() + delay;
    this.handlers.onState(state, at);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private dropSocket(): void {
    const ws = this.ws;
    this.ws = null;
    this.clearPing();
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close();
      } catch {
        // already closed
      }
    }
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private clearPing(): void {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }
}
