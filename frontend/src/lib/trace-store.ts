// The event reducer: websocket messages in, request-list entries out. No DOM; time is passed in.

import type { ParsedEvent, ParsedMessage } from "./trace-parse";
import type { LayerState, ListRow, Span, Trace } from "./trace-format";
import { timeKeyUs } from "./format";

export const DEFAULT_CAP = 500;
/** Spans kept per running trace from span events (trace.end then brings the whole trace). */
export const MAX_LIVE_SPANS = 50_000;

/** Spans of a running trace, as span.start / span.end arrive. */
export class LiveSpans {
  private readonly map = new Map<number, Span>();
  private cached: Span[] | null = [];
  /** Latest known offset (ns) and the local time (ms) it was seen: "now" is extrapolated from it. */
  anchorNs = 0;
  anchorAtMs = 0;
  dropped = 0;

  add(span: Span, atMs: number): void {
    if (!this.map.has(span.id) && this.map.size >= MAX_LIVE_SPANS) {
      this.dropped++;
      return;
    }
    this.map.set(span.id, span); // Map keeps the first insertion position: parents stay first
    this.cached = null;
    const t = span.duration_ns === null ? span.start_ns : span.start_ns + span.duration_ns;
    if (t >= this.anchorNs) {
      this.anchorNs = t;
      this.anchorAtMs = atMs;
    }
  }

  get size(): number {
    return this.map.size;
  }

  spans(): Span[] {
    if (!this.cached) this.cached = [...this.map.values()];
    return this.cached;
  }

  /** Estimated offset of "now" in the trace's clock. */
  nowNs(atMs: number): number {
    return this.anchorNs + Math.max(0, atMs - this.anchorAtMs) * 1e6;
  }
}

export interface TraceEntry {
  readonly id: string;
  readonly row: ListRow;
  /** The whole trace, once trace.end brought it (null if it failed validation: fetch it instead). */
  readonly trace: Trace | null;
  /** Spans seen so far while running; null once finished. */
  readonly live: LiveSpans | null;
  /** Local time (ms) the entry was first seen. */
  readonly seenAtMs: number;
}

export function isRunning(row: ListRow): boolean {
  return row.duration_ns === null;
}

export class TraceStore {
  readonly cap: number;
  /** Insertion order is age order: oldest first, so eviction drops the first keys. */
  private entries = new Map<string, TraceEntry>();
  private newestFirst: TraceEntry[] | null = [];
  droppedEvents = 0;
  /** Bumped whenever the list rows change. */
  listVersion = 0;
  /** Bumped per trace whenever its spans or its full trace change. */
  private traceVersions = new Map<string, number>();
  serverVersion: number | null = null;
  /** The server's channel layer (hello, status frames): "down" means no live events for now. */
  layer: LayerState = "up";
  layerError: string | null = null;
  /** Live events lost because this page read too slowly (missed_events), over all its connections. */
  private missedBefore = 0;
  private missedNow = 0;
  private pinned: string | null = null;
  /** Count of traces ever added (for "N new" while paused). */
  insertedTotal = 0;

  constructor(cap = DEFAULT_CAP) {
    this.cap = Math.max(1, cap);
  }

  get size(): number {
    return this.entries.size;
  }

  get missedEvents(): number {
    return this.missedBefore + this.missedNow;
  }

  get(id: string): TraceEntry | undefined {
    return this.entries.get(id);
  }

  traceVersion(id: string): number {
    return this.traceVersions.get(id) ?? 0;
  }

  /** Entries, newest first. The array is reused until the next change. */
  rows(): readonly TraceEntry[] {
    if (!this.newestFirst) this.newestFirst = [...this.entries.values()].reverse();
    return this.newestFirst;
  }

  apply(msg: ParsedMessage, atMs: number): void {
    switch (msg.type) {
      case "hello":
        this.serverVersion = msg.version;
        this.droppedEvents = msg.dropped_events;
        this.layer = msg.layer;
        this.layerError = msg.error;
        // missed_events counts per connection: a new one starts again from 0.
        this.missedBefore += this.missedNow;
        this.missedNow = 0;
        break;
      case "status":
        this.layer = msg.layer;
        this.layerError = msg.layer === "down" ? msg.error : null;
        break;
      case "backlog":
        this.applyBacklog(msg.traces, atMs);
        break;
      case "events":
        for (const ev of msg.events) this.applyEvent(ev, atMs);
        if (msg.dropped_events !== null) this.droppedEvents = msg.dropped_events;
        if (msg.missed_events !== null && msg.missed_events > this.missedNow) this.missedNow = msg.missed_events;
        break;
      case "pong":
      case "error":
        break;
    }
  }

  /** Backlog rows (newest first) merged with what we have, ordered by start time. */
  applyBacklog(rows: readonly ListRow[], atMs: number): void {
    const merged = new Map(this.entries);
    for (const row of rows) {
      const old = merged.get(row.id);
      if (!old) this.insertedTotal++;
      // A trace we already saw finish stays finished even if the backlog was taken just before.
      if (old && !isRunning(old.row) && isRunning(row)) continue;
      merged.set(row.id, {
        id: row.id,
        row,
        trace: old && !isRunning(row) ? old.trace : null,
        live: isRunning(row) ? (old?.live ?? new LiveSpans()) : null,
        seenAtMs: old?.seenAtMs ?? atMs,
      });
    }
    const sorted = [...merged.values()].sort((a, b) => timeKeyUs(a.row.started_at) - timeKeyUs(b.row.started_at));
    this.entries = new Map(sorted.map((e) => [e.id, e]));
    this.changed();
    this.evict();
  }

  applyEvent(ev: ParsedEvent, atMs: number): void {
    const old = this.entries.get(ev.trace_id);
    switch (ev.e) {
      case "trace.start":
        if (old) {
          // A late start must not turn a finished row back into a running one.
          if (isRunning(old.row)) this.entries.set(ev.trace_id, { ...old, row: ev.row });
        } else this.insert({ id: ev.trace_id, row: ev.row, trace: null, live: new LiveSpans(), seenAtMs: atMs });
        this.changed();
        break;
      case "span.start":
      case "span.end":
        // Spans of a trace we do not list (evicted, or its start was dropped) are ignored.
        if (old?.live) {
          old.live.add(ev.span, atMs);
          this.bump(ev.trace_id);
        }
        break;
      case "trace.end": {
        const entry: TraceEntry = { id: ev.trace_id, row: ev.row, trace: ev.trace, live: null, seenAtMs: old?.seenAtMs ?? atMs };
        if (old) this.entries.set(ev.trace_id, entry);
        else this.insert(entry);
        this.bump(ev.trace_id);
        this.changed();
        break;
      }
    }
  }

  private insert(entry: TraceEntry): void {
    this.insertedTotal++;
    this.entries.set(entry.id, entry);
    this.evict();
  }

  /** Forgets every trace (the top bar's Clear); counters of events stay. */
  clear(): void {
    this.entries.clear();
    this.traceVersions.clear();
    this.changed();
  }

  /** Keep this trace (the open one) whatever the cap; null unpins. */
  pin(id: string | null): void {
    this.pinned = id;
  }

  private evict(): void {
    while (this.entries.size > this.cap) {
      let victim: string | undefined;
      for (const id of this.entries.keys()) {
        if (id !== this.pinned) {
          victim = id;
          break;
        }
      }
      if (victim === undefined) return;
      this.entries.delete(victim);
      this.traceVersions.delete(victim);
    }
  }

  private changed(): void {
    this.newestFirst = null;
    this.listVersion++;
  }

  private bump(id: string): void {
    this.traceVersions.set(id, (this.traceVersions.get(id) ?? 0) + 1);
  }
}
