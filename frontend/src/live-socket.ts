// The websocket: connects, reconnects by itself with backoff, pings, and hands text frames on.
// A refusal by the server (close code 4403 or 4400) stops the reconnecting: only a retry asked for by
// the user (retryNow) tries again. A close for flooding (4429) reconnects after a long step.

import { ATTEMPTS_BEFORE_DISCONNECTED, DEFAULT_BACKOFF, UNREACHABLE_BACKOFF, backoffDelay } from "./lib/backoff";
import { CLOSE_FLOOD, closeVerdict, encodeClientMessage, type ConnectionProblem } from "./lib/protocol";
import type { ClientMessage } from "./lib/trace-format";
import type { ConnectionState } from "./state";

export interface SocketHandlers {
  /** `problem` says why the socket is down when the close code tells (null while live or unknown). */
  onState(state: ConnectionState, retryAt: number | null, problem: ConnectionProblem | null): void;
  /** `generation` numbers the socket the frame came on (see LiveSocket.generation). */
  onMessage(data: unknown, generation: number): void;
  /** Called on every successful (re)connect; `reconnect` is false the first time. */
  onOpen?(reconnect: boolean): void;
}

export const PING_INTERVAL_MS = 25_000;
/** After a 4429 the next attempt waits as if this many had failed (4 to 8 s), never 0.5 s. */
export const FLOOD_ATTEMPT = 4;

export class LiveSocket {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private everOpened = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private stopped = false;
  private problem: ConnectionProblem | null = null;
  /** Bumped for every new socket: a frame queued from an older one must not be acknowledged on this one. */
  generation = 0;

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
    this.handlers.onState(state, null, this.problem);
    let ws: WebSocket;
    try {
      ws = new this.WS(this.url);
    } catch (e) {
      console.warn(`[lifecycle] cannot open ${this.url}: ${(e as Error).message}`);
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    const generation = ++this.generation;
    // The server accepts, then closes, a connection it refuses (so that the browser sees the code):
    // only a socket that got frames (hello) was connected, and a 4403 on it means access was revoked.
    let gotFrames = false;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      const reconnect = this.everOpened;
      this.everOpened = true;
      this.attempt = 0;
      this.problem = null;
      this.handlers.onState("live", null, null);
      this.handlers.onOpen?.(reconnect);
      this.pingTimer = setInterval(() => this.send({ type: "ping" }), PING_INTERVAL_MS);
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (ws !== this.ws) return;
      gotFrames = true;
      this.handlers.onMessage(ev.data, generation);
    };
    ws.onclose = (ev?: CloseEvent) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.clearPing();
      const verdict = closeVerdict(ev?.code, this.everOpened, gotFrames);
      if (verdict.problem && verdict.problem !== this.problem) {
        console.warn(`[lifecycle] websocket ${this.url} closed with code ${ev?.code ?? "none"}${ev?.reason ? ` (${ev.reason})` : ""}`);
      }
      this.problem = verdict.problem;
      if (this.stopped) return;
      if (ev?.code === CLOSE_FLOOD) this.attempt = Math.max(this.attempt, FLOOD_ATTEMPT);
      if (verdict.retry) this.scheduleRetry();
      else {
        this.attempt = 0;
        this.handlers.onState("refused", null, verdict.problem);
      }
    };
    ws.onerror = () => {
      // A close event always follows; reconnecting happens there.
    };
  }

  /** Skip the wait and reconnect at once (also after a refusal, once the user fixed its cause). */
  retryNow(): void {
    if (this.ws && this.ws.readyState === this.WS.OPEN) return;
    this.attempt = 0;
    if (this.problem !== "unreachable") this.problem = null;
    this.dropSocket();
    this.connect();
  }

  /** Sends a text frame; false when not connected or when the server would refuse the frame. */
  send(msg: ClientMessage): boolean {
    if (!this.ws || this.ws.readyState !== this.WS.OPEN) return false;
    const frame = encodeClientMessage(msg);
    if ("error" in frame) {
      console.warn(`[lifecycle] not sent: ${frame.error}`);
      return false;
    }
    this.ws.send(frame.text);
    return true;
  }

  close(): void {
    this.stopped = true;
    this.clearRetry();
    this.dropSocket();
    this.handlers.onState("disconnected", null, null);
  }

  /** Attempts that failed in a row (0 while connected). */
  get failures(): number {
    return this.attempt;
  }

  private scheduleRetry(): void {
    // A socket that never opened meets a setup problem (a 404 for the handshake): retry slowly.
    const delay = backoffDelay(this.attempt, this.problem === "unreachable" ? UNREACHABLE_BACKOFF : DEFAULT_BACKOFF);
    this.attempt++;
    const state: ConnectionState = this.attempt >= ATTEMPTS_BEFORE_DISCONNECTED ? "disconnected" : "reconnecting";
    const at = Date.now() + delay;
    this.handlers.onState(state, at, this.problem);
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
