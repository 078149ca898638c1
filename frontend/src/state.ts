// The app state: one explicit object, changed only through `set`, observed through `subscribe`.
// Live trace data lives in the TraceStore (lib/trace-store.ts); this holds what the user sees and chose.

import type { ConnectionProblem } from "./lib/protocol";
import type { LayerState, Trace } from "./lib/trace-format";

/** `refused`: the server closed with 4403 or 4400; no reconnecting until the user asks (Retry). "live"
 * says the socket is open: whether events flow also depends on `layer`. `off`: the server has no live
 * events (DashboardConfig.live false), so no socket is opened and the list is polled. */
export type ConnectionState = "connecting" | "live" | "reconnecting" | "disconnected" | "refused" | "off";

export interface OpenTrace {
  id: string;
  source: "server" | "file";
  fileName: string | null;
  /** Original text of a trace loaded from a file (what "Save trace" writes back). */
  fileText: string | null;
  /** The trace as fetched, loaded or taken from trace.end; null while loading. */
  base: Trace | null;
  loading: boolean;
  error: string | null;
}

export interface Highlight {
  spanIds: ReadonlySet<number>;
  label: string;
}

export interface AppState {
  connection: ConnectionState;
  /** Local time (ms) of the next reconnect attempt, when waiting for one. */
  retryAt: number | null;
  /** Why the socket is down, when its close code says (see lib/protocol.ts). */
  connectionProblem: ConnectionProblem | null;
  paused: boolean;
  filterText: string;
  selectedTraceId: string | null;
  open: OpenTrace | null;
  selectedSpanId: number | null;
  highlight: Highlight | null;
  droppedEvents: number;
  /** Live events this page missed by reading too slowly (the server's missed_events). */
  missedEvents: number;
  /** The server's channel layer: "down" (Redis unreachable...) or "none" means no live events. */
  layer: LayerState;
  layerError: string | null;
  /** Messages shown in the error banner, oldest first. */
  errors: string[];
  /** The list is read from the list endpoint every few seconds (no live socket, or it is down). */
  polling: boolean;
  /** Why the last read of the list failed (null: it worked, or none yet). */
  pollError: string | null;
}

export const MAX_ERRORS = 5;

export function initialState(): AppState {
  return {
    connection: "connecting",
    retryAt: null,
    connectionProblem: null,
    paused: false,
    filterText: "",
    selectedTraceId: null,
    open: null,
    selectedSpanId: null,
    highlight: null,
    droppedEvents: 0,
    missedEvents: 0,
    layer: "up",
    layerError: null,
    errors: [],
    polling: false,
    pollError: null,
  };
}

export type Listener = (state: AppState, prev: AppState) => void;

export class State {
  private current: AppState;
  private readonly listeners = new Set<Listener>();

  constructor(initial: AppState = initialState()) {
    this.current = initial;
  }

  get(): AppState {
    return this.current;
  }

  set(patch: Partial<AppState>): void {
    const prev = this.current;
    let changed = false;
    for (const k of Object.keys(patch) as (keyof AppState)[]) {
      if (patch[k] !== prev[k]) changed = true;
    }
    if (!changed) return;
    this.current = { ...prev, ...patch };
    for (const l of this.listeners) l(this.current, prev);
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Adds a message to the error banner (repeats are counted, not stacked) and logs it. */
  reportError(text: string): void {
    console.warn(`[lifecycle] ${text}`);
    const errors = this.current.errors.filter((e) => e !== text);
    errors.push(text);
    this.set({ errors: errors.slice(-MAX_ERRORS) });
  }
}
