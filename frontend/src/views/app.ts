// The app: wires the socket, the trace store, the state and the views. Websocket frames are queued
// and applied once per animation frame, so a burst of traffic costs one render. Where the server has
// no live events (config.live false) no socket is opened: the list is polled over HTTP instead, as it
// also is while a socket keeps failing to connect.

import { clearServerTraces } from "../lib/clear-traces";
import { learnKinds } from "../lib/kinds";
import { POLL_FALLBACK_AFTER, websocketUrl } from "../lib/backoff";
import { kindChoice, parseFilter, withKind, type Filter } from "../lib/filter";
import { computeSummary, mergeSpans, partialTrace, withRequestSpan } from "../lib/summary";
import { originOf } from "../lib/protocol";
import type { DashboardConfig, ListRow, Trace } from "../lib/trace-format";
import { PROTOCOL_VERSION } from "../lib/trace-format";
import { TooLargeError, limitTrace, readLimited, tooLargeMessage, type Limits } from "../lib/trace-limits";
import { FormatError, decodeTraceFile, errorText, parseServerMessage, parseTraceText } from "../lib/trace-parse";
import { DEFAULT_CAP, TraceStore, isRunning, type TraceEntry } from "../lib/trace-store";
import { maxEndNs } from "../lib/waterfall-layout";
import { ListPoller, POLL_INTERVAL_MS } from "../list-poller";
import { LiveSocket } from "../live-socket";
import { State, type OpenTrace } from "../state";
import { DetailPane } from "./detail-pane";
import { h } from "./dom";
import { CompareView } from "./compare-view";
import { bindFileDrop } from "./file-drop";
import { bindShortcuts, shortcutsHelp } from "./shortcuts";
import { ConnectionBanner, ErrorBanner, LiveOffNote } from "./error-banner";
import { RequestList } from "./request-list";
import { TopBar } from "./top-bar";
import { TraceView, type SpanGroup } from "./trace-view";

export interface AppDeps {
  WebSocket?: typeof WebSocket;
  fetch?: typeof fetch;
  location?: { protocol: string; host: string };
  cap?: number;
  /** How often the list is polled without a live socket (POLL_INTERVAL_MS). */
  pollIntervalMs?: number;
  /** Whose visibilityState decides whether to poll (the document). */
  document?: Pick<Document, "visibilityState" | "addEventListener" | "removeEventListener">;
}

/** Malformed frames logged to the console one by one before only every 100th is. */
const WARN_LIMIT = 20;

export class App {
  readonly state = new State();
  readonly store: TraceStore;
  readonly topBar: TopBar;
  readonly list: RequestList;
  readonly traceView: TraceView;
  readonly detail: DetailPane;
  readonly compare: CompareView;
  private readonly errorBanner: ErrorBanner;
  private readonly connectionBanner: ConnectionBanner;
  private readonly dropZone: HTMLElement;
  private readonly help: HTMLElement;
  /** Traces refetched once because their trace.end came without a usable trace. */
  private readonly refetched = new Set<string>();
  /** null when the server has no live events (config.live false). */
  private readonly socket: LiveSocket | null;
  private readonly poller: ListPoller;
  private readonly liveOffNote: LiveOffNote;
  private readonly fetchFn: typeof fetch;

  /** Frames as received, with the generation of the socket they came on (acks go to that one only). */
  private queue: [unknown, number][] = [];
  private readonly limits: Limits;
  private flushPending = false;
  private animating = false;
  private malformed = 0;
  private filter: Filter = parseFilter("");
  private listVersionShown = -1;
  private filterShown = "";
  private frozenRows: readonly TraceEntry[] | null = null;
  private pausedAtInserted = 0;
  /** Trace shown for the open trace, recomputed only when its data changes. */
  private display: { open: OpenTrace | null; entry: TraceEntry | undefined; version: number; trace: Trace | null } = {
    open: null,
    entry: undefined,
    version: -1,
    trace: null,
  };
  private fetchedAtMs = 0;
  private fetchSeq = 0;
  /** Span to select once the trace restored from the URL has loaded. */
  private pendingSpan: number | null = null;
  private readonly listeners = new AbortController();
  private readonly ticker: ReturnType<typeof setInterval>;

  constructor(
    readonly root: HTMLElement,
    readonly config: DashboardConfig,
    deps: AppDeps = {},
  ) {
    this.store = new TraceStore(deps.cap ?? DEFAULT_CAP);
    this.limits = { maxTraceBytes: config.maxTraceBytes, maxSpans: config.maxSpans, maxDepth: config.maxDepth };
    this.fetchFn = deps.fetch ?? ((input, init) => fetch(input, init));
    this.topBar = new TopBar({
      retryNow: () => this.socket?.retryNow(),
      refresh: () => void this.poller.refreshNow(),
      togglePause: () => this.togglePause(),
      setFilter: (text) => this.state.set({ filterText: text }),
      openFile: (file) => void this.openFile(file),
      compare: () => this.startCompare(),
      clear: () => void this.clearTraces(),
    });
    this.list = new RequestList(
      (id) => this.openTrace(id),
      (choice) => this.state.set({ filterText: withKind(this.state.get().filterText, choice) }),
    );
    this.traceView = new TraceView({
      select: (id) => this.selectSpan(id),
      highlightGroup: (g, label) => this.highlightGroup(g, label),
    });
    this.detail = new DetailPane({ apiBase: config.apiBase, csrfToken: config.csrfToken ?? null, fetch: this.fetchFn });
    this.compare = new CompareView({
      apiBase: config.apiBase,
      fetch: this.fetchFn,
      limits: this.limits,
      rows: () => this.store.rows().map((e) => e.row),
      held: (id) => this.store.get(id)?.trace ?? null,
      reportError: (text) => this.state.reportError(text),
    });
    this.errorBanner = new ErrorBanner(() => this.state.set({ errors: [] }));
    const location = deps.location ?? window.location;
    const url = websocketUrl(config.wsUrl, location);
    const pollIntervalMs = deps.pollIntervalMs ?? POLL_INTERVAL_MS;
    this.connectionBanner = new ConnectionBanner({ url, origin: originOf(location), pollIntervalMs }, () => this.socket?.retryNow());
    this.liveOffNote = new LiveOffNote({ channels: config.channels, pollIntervalMs });
    this.dropZone = h("div", { class: "drop-zone", testid: "drop-zone", text: "Drop a trace file to open it" });
    this.dropZone.hidden = true;
    this.help = shortcutsHelp(() => (this.help.hidden = true));
    root.classList.add("lifecycle-app");
    root.replaceChildren(
      this.topBar.el,
      this.liveOffNote.el,
      this.connectionBanner.el,
      this.errorBanner.el,
      h("main", { class: "panes" }, this.list.el, this.traceView.el, this.detail.el),
      this.dropZone,
      this.help,
      this.compare.el,
    );

    this.poller = new ListPoller(
      `${config.apiBase}traces/`,
      this.fetchFn,
      {
        onRows: (rows, droppedEvents) => this.applyPolledRows(rows, droppedEvents),
        onResult: (pollError, warnings) => {
          for (const w of warnings) this.malformedFrame(w);
          this.state.set({ pollError });
        },
      },
      config.maxTraceBytes,
      pollIntervalMs,
      deps.document ?? document,
    );
    this.socket = config.live
      ? new LiveSocket(
          url,
          {
            onState: (connection, retryAt, connectionProblem) => {
              this.state.set({ connection, retryAt, connectionProblem });
              this.pollWhileDown();
            },
            onMessage: (data, generation) => this.enqueue(data, generation),
          },
          deps.WebSocket ?? WebSocket,
        )
      : null;
    if (!this.socket) this.state.set({ connection: "off" });
    this.state.subscribe((s, prev) => {
      if (s.open !== prev.open) this.store.pin(s.open?.source === "server" ? s.open.id : null);
      if (s.filterText !== prev.filterText) this.filter = parseFilter(s.filterText);
      if (s.selectedTraceId !== prev.selectedTraceId) this.list.setSelected(s.selectedTraceId);
      if (s.filterText !== prev.filterText) this.refreshList();
      if (s.open !== prev.open || s.selectedSpanId !== prev.selectedSpanId || s.highlight !== prev.highlight) this.renderOpen();
      if (s.open !== prev.open || s.selectedSpanId !== prev.selectedSpanId) this.writeUrl();
      this.renderChrome();
    });
    const signal = this.listeners.signal;
    bindShortcuts(
      {
        help: this.help,
        waterfall: this.traceView.waterfall,
        focusFilter: () => {
          this.topBar.filterInput.focus();
          this.topBar.filterInput.select();
        },
        followNewest: () => this.list.scrollToTop(),
        togglePause: () => this.togglePause(),
        moveSelection: (delta) => {
          const id = this.list.neighbour(delta);
          if (id) this.openTrace(id);
        },
        clearSelection: () => this.clearSelection(),
        selectedSpanId: () => this.state.get().selectedSpanId,
      },
      signal,
    );
    // While comparing, a dropped file is the trace to compare with.
    bindFileDrop(this.dropZone, (file) => void (this.compare.isOpen ? this.compare.openFile(file) : this.openFile(file)), signal);
    this.ticker = setInterval(() => {
      if (this.state.get().retryAt !== null) this.renderChrome();
    }, 1000);
    this.refreshList();
    this.renderChrome();
  }

  start(): void {
    this.restoreFromUrl();
    if (this.socket) this.socket.connect();
    else this.startPolling();
  }

  // ---- the list over HTTP, where no socket carries it

  private startPolling(): void {
    this.poller.start();
    this.state.set({ polling: true });
  }

  /** A socket that failed POLL_FALLBACK_AFTER times in a row: poll the list until it is live again. */
  private pollWhileDown(): void {
    const s = this.state.get();
    const down = (s.connection === "reconnecting" || s.connection === "disconnected") && (this.socket?.failures ?? 0) >= POLL_FALLBACK_AFTER;
    if (down) this.startPolling();
    else if (this.poller.running && s.connection !== "connecting" && s.connection !== "reconnecting" && s.connection !== "disconnected") {
      // Live again (the backlog brings the list), or refused (the API would refuse the same viewer).
      this.poller.stop();
      this.state.set({ polling: false, pollError: null });
    }
  }

  private applyPolledRows(rows: ListRow[], droppedEvents: number | null): void {
    this.store.applyBacklog(rows, performance.now());
    if (droppedEvents !== null && !this.socket) this.store.droppedEvents = droppedEvents;
    this.state.set({ droppedEvents: this.store.droppedEvents });
    if (!this.state.get().paused) {
      this.refreshList();
      this.refreshOpenTrace();
    }
    this.renderChrome();
  }

  // ---- the open trace and span live in the URL (#trace=<id>&span=<n>), so a view can be shared

  private restoreFromUrl(): void {
    const m = /(?:^#|&)trace=([A-Za-z0-9_-]{1,64})(?:&span=(\d{1,9}))?/.exec(window.location.hash);
    if (!m || m[1] === undefined) return;
    this.pendingSpan = m[2] === undefined ? null : Number(m[2]);
    this.openTrace(m[1]);
  }

  private writeUrl(): void {
    const s = this.state.get();
    const hash = s.open?.source === "server" ? `#trace=${s.open.id}${s.selectedSpanId !== null ? `&span=${s.selectedSpanId}` : ""}` : "";
    if (hash === window.location.hash) return;
    try {
      history.replaceState(history.state, "", hash || window.location.pathname + window.location.search);
    } catch {
      // sandboxed or file: pages may refuse; the URL is a convenience
    }
  }

  /** Closes the socket and removes the page-wide listeners (tests mount several apps). */
  stop(): void {
    this.socket?.close();
    this.poller.stop();
    this.listeners.abort();
    clearInterval(this.ticker);
  }

  // ---- live data

  private enqueue(data: unknown, generation: number): void {
    this.queue.push([data, generation]);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushPending) return;
    this.flushPending = true;
    const run = (): void => {
      if (!this.flushPending) return;
      this.flushPending = false;
      this.flush();
    };
    // requestAnimationFrame does not run in background tabs: the timeout keeps the queue bounded there.
    if (typeof requestAnimationFrame !== "undefined") requestAnimationFrame(run);
    setTimeout(run, 250);
  }

  /** Applies every queued frame, then renders once. */
  flush(): void {
    const queue = this.queue;
    this.queue = [];
    const now = performance.now();
    for (const [data, generation] of queue) {
      const { message, warnings, seq, notices } = parseServerMessage(data, this.limits);
      for (const w of warnings) this.malformedFrame(w);
      for (const n of notices) this.state.reportError(n);
      if (!message) {
        // A frame we could not use still counts in the server's send window.
        if (seq !== null) this.ack(seq, generation);
        continue;
      }
      if (message.type === "hello") learnKinds(message.kinds);
      if (message.type === "hello" && message.version > PROTOCOL_VERSION) {
        this.state.reportError(
          `The server speaks live protocol version ${message.version}; this dashboard knows versions 1 to ${PROTOCOL_VERSION}. Rebuild it: make frontend.`,
        );
      }
      if (message.type === "error") console.warn(`[lifecycle] server: ${message.error}`);
      this.store.apply(message, now);
      // Applied: acknowledge it, so that the server sends the next frames (protocol 2).
      if (seq !== null) this.ack(seq, generation);
    }
    this.state.set({
      droppedEvents: this.store.droppedEvents,
      missedEvents: this.store.missedEvents,
      layer: this.store.layer,
      layerError: this.store.layerError,
    });
    if (!this.state.get().paused) {
      this.refreshList();
      this.refreshOpenTrace();
    }
    this.renderChrome();
  }

  private ack(seq: number, generation: number): void {
    if (this.socket && generation === this.socket.generation) this.socket.send({ type: "ack", seq });
  }

  private malformedFrame(warning: string): void {
    this.malformed++;
    if (this.malformed <= WARN_LIMIT || this.malformed % 100 === 0) {
      this.state.reportError(`Ignored malformed data from the server (${this.malformed} so far): ${warning}`);
    }
  }

  private refreshList(): void {
    const s = this.state.get();
    const rows = s.paused && this.frozenRows ? this.frozenRows : this.store.rows();
    if (!s.paused && this.listVersionShown === this.store.listVersion && this.filterShown === s.filterText) return;
    this.listVersionShown = this.store.listVersion;
    this.filterShown = s.filterText;
    this.list.setRows(rows, this.filter, kindChoice(s.filterText));
  }

  private togglePause(): void {
    const paused = !this.state.get().paused;
    if (paused) {
      this.frozenRows = this.store.rows();
      this.pausedAtInserted = this.store.insertedTotal;
    } else {
      this.frozenRows = null;
      this.listVersionShown = -1;
    }
    this.state.set({ paused });
    if (!paused) {
      this.refreshList();
      this.refreshOpenTrace();
    }
  }

  /** The top bar's Clear: the list empties at once; the server is asked to forget its traces too. */
  async clearTraces(): Promise<void> {
    this.store.clear();
    if (this.frozenRows) this.frozenRows = [];
    const open = this.state.get().open;
    // The open trace stays on screen, unless it was still loading: the server no longer has it.
    if (open?.source === "server" && !open.base) this.state.set({ open: null, selectedTraceId: null });
    this.listVersionShown = -1;
    this.refreshList();
    const problem = await clearServerTraces(this.config.apiBase, this.config.csrfToken ?? "", this.fetchFn);
    if (problem) this.state.reportError(problem);
  }

  // ---- the open trace

  openTrace(id: string): void {
    const entry = this.store.get(id) ?? this.list.rows.find((e) => e.id === id);
    const have = entry?.trace ?? null;
    // A running trace is shown from its live spans; the API serves traces once they have finished,
    // and trace.end brings the whole trace anyway.
    const live = !have && !!entry && isRunning(entry.row) && !!this.store.get(id)?.live;
    const open: OpenTrace = { id, source: "server", fileName: null, fileText: null, base: have, loading: !have && !live, error: null };
    this.state.set({ selectedTraceId: id, open, selectedSpanId: null, highlight: null });
    this.list.scrollToId(id);
    if (!have && !live) void this.fetchTrace(id, false);
  }

  private async fetchTrace(id: string, running: boolean): Promise<void> {
    const seq = ++this.fetchSeq;
    const url = `${this.config.apiBase}traces/${encodeURIComponent(id)}/`;
    let trace: Trace | null = null;
    let error: string | null = null;
    try {
      const res = await this.fetchFn(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!res.ok) throw new Error(`HTTP ${res.status}${res.status === 404 ? " (the server no longer keeps it)" : ""}`);
      // Refused by its Content-Length before it is read, or while read, before JSON.parse.
      const text = await readLimited(res, this.limits.maxTraceBytes, `Trace ${id}`);
      trace = parseTraceText(text, `trace ${id}`, this.limits);
    } catch (e) {
      error = e instanceof FormatError ? `Could not load ${e.message}` : e instanceof TooLargeError ? e.message : `Could not load trace ${id}: ${errorText(e)}`;
      if (e instanceof FormatError || e instanceof TooLargeError) this.state.reportError(error);
    }
    const open = this.state.get().open;
    if (seq !== this.fetchSeq || !open || open.id !== id || open.source !== "server") return;
    // The live trace may have finished (trace.end) while we waited: that one is newer.
    const done = this.store.get(id)?.trace ?? null;
    this.fetchedAtMs = performance.now();
    const live = this.store.get(id)?.live;
    if (error && running && live && live.size > 0) error = null; // the live spans are enough
    this.state.set({ open: { ...open, base: done ?? trace ?? open.base, loading: false, error } });
  }

  async openFile(file: File): Promise<void> {
    // Refused by its size, before a byte of it is read.
    if (file.size > this.limits.maxTraceBytes) {
      this.state.reportError(tooLargeMessage(file.name, file.size, this.limits.maxTraceBytes));
      return;
    }
    let trace: Trace;
    let text: string;
    try {
      text = decodeTraceFile(new Uint8Array(await file.arrayBuffer()), file.name);
      trace = parseTraceText(text, file.name, this.limits);
    } catch (e) {
      // A FormatError already names the file, then the field.
      this.state.reportError(e instanceof FormatError ? `Could not open ${e.message}` : `Could not open ${file.name}: ${errorText(e)}`);
      return;
    }
    this.state.set({
      selectedTraceId: null,
      selectedSpanId: null,
      highlight: null,
      open: { id: trace.id, source: "file", fileName: file.name, fileText: text, base: trace, loading: false, error: null },
    });
  }

  /** Opens the compare dialog on the open trace, once it has finished. */
  startCompare(): void {
    const open = this.state.get().open;
    const trace = this.displayedTrace();
    if (!open || !trace || trace.duration_ns === null) return;
    this.compare.open({ trace, fileName: open.source === "file" ? open.fileName : null });
  }

  /** The trace to show for the open one: the full trace, or the fetched one grown by live spans. */
  private displayedTrace(): Trace | null {
    const open = this.state.get().open;
    if (!open) return null;
    if (open.source === "file") return open.base;
    const entry = this.store.get(open.id);
    const version = this.store.traceVersion(open.id);
    const d = this.display;
    if (d.open === open && d.entry === entry && d.version === version) return d.trace;
    let trace: Trace | null = open.base;
    if (entry?.trace) trace = entry.trace;
    else if (entry?.live && (entry.live.size > 0 || !open.base)) {
      const spans = withRequestSpan(mergeSpans(open.base?.spans ?? [], entry.live.spans()), entry.row);
      trace = open.base
        ? { ...open.base, spans, summary: computeSummary(spans, open.base.summary.status, open.base.summary.error) }
        : partialTrace(entry.row, spans);
      trace = limitTrace(trace, this.limits);
    }
    this.display = { open, entry, version, trace };
    return trace;
  }

  private nowNsFor(trace: Trace): number {
    const open = this.state.get().open;
    const live = open?.source === "server" ? this.store.get(open.id)?.live : null;
    const now = performance.now();
    if (live && live.size > 0) return live.nowNs(now);
    if (trace.duration_ns !== null) return trace.duration_ns;
    return maxEndNs(trace.spans, 0) + Math.max(0, now - this.fetchedAtMs) * 1e6;
  }

  private refreshOpenTrace(): void {
    const open = this.state.get().open;
    if (!open || open.source !== "server") return;
    const entry = this.store.get(open.id);
    if (entry?.trace && open.base !== entry.trace) {
      // trace.end arrived for the open trace: adopt it (state change re-renders).
      this.state.set({ open: { ...open, base: entry.trace, loading: false, error: null } });
      return;
    }
    if (entry && !isRunning(entry.row) && !entry.trace && (!open.base || open.base.duration_ns === null) && !open.loading && !this.refetched.has(open.id)) {
      // Finished, but its trace.end carried no usable trace: ask the API for it.
      this.refetched.add(open.id);
      this.state.set({ open: { ...open, loading: !open.base } });
      void this.fetchTrace(open.id, false);
      return;
    }
    // Traffic about other traces leaves the open one as it was: nothing to draw (a running trace's
    // clock is moved by animate()).
    const d = this.display;
    if (d.open === open && d.entry === entry && d.version === this.store.traceVersion(open.id)) return;
    this.renderOpen();
  }

  /** Renders the open trace; a failure (a trace the views cannot handle) is shown, never thrown. */
  private renderOpen(): void {
    try {
      this.renderOpenTrace();
    } catch (e) {
      const open = this.state.get().open;
      const what = open ? (open.fileName ?? `trace ${open.id}`) : "the trace";
      const text = `Could not show ${what}: ${errorText(e)}`;
      console.error(e);
      this.traceView.showMessage(text, "error");
      this.detail.update(null, null);
    }
  }

  private renderOpenTrace(): void {
    const s = this.state.get();
    const open = s.open;
    const trace = this.displayedTrace();
    if (!open) {
      this.traceView.showMessage("Select a request to see its trace.");
      this.detail.update(null, null);
      return;
    }
    if (!trace) {
      if (open.error) this.traceView.showMessage(open.error, "error");
      else this.traceView.showMessage("Loading trace…", "loading");
      this.detail.update(null, null);
      return;
    }
    this.traceView.show(trace, open, this.nowNsFor(trace));
    if (this.pendingSpan !== null) {
      const id = this.pendingSpan;
      this.pendingSpan = null;
      if (trace.spans.some((x) => x.id === id)) {
        queueMicrotask(() => {
          this.state.set({ selectedSpanId: id });
          this.traceView.waterfall.scrollToSpan(id);
        });
      }
    }
    this.traceView.waterfall.setSelected(s.selectedSpanId);
    this.traceView.waterfall.setHighlight(s.highlight?.spanIds ?? null);
    const span = s.selectedSpanId === null ? null : (trace.spans.find((x) => x.id === s.selectedSpanId) ?? null);
    this.detail.update(span, trace);
    if (trace.duration_ns === null && !s.paused) this.animate();
  }

  /** While a running trace is open, move "now" every frame so open spans grow. */
  private animate(): void {
    if (this.animating || typeof requestAnimationFrame === "undefined") return;
    this.animating = true;
    const step = (): void => {
      const s = this.state.get();
      const trace = this.display.trace;
      if (!trace || trace.duration_ns !== null || s.paused || !s.open) {
        this.animating = false;
        return;
      }
      const now = this.nowNsFor(trace);
      this.traceView.waterfall.tick(now);
      this.traceView.tickRunning(now);
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }

  private selectSpan(id: number): void {
    this.state.set({ selectedSpanId: id });
  }

  private highlightGroup(g: SpanGroup, label: string): void {
    const cur = this.state.get().highlight;
    if (cur && cur.label === label) {
      this.state.set({ highlight: null });
      return;
    }
    this.state.set({ highlight: { spanIds: new Set(g.span_ids), label }, selectedSpanId: g.span_ids[0] ?? null });
  }

  private clearSelection(): void {
    const s = this.state.get();
    if (s.selectedSpanId !== null || s.highlight) this.state.set({ selectedSpanId: null, highlight: null });
    else if (s.open) this.state.set({ open: null, selectedTraceId: null });
  }

  // ---- chrome

  private renderChrome(): void {
    const s = this.state.get();
    const now = Date.now();
    this.topBar.update(s, this.config.apiBase, this.store.insertedTotal - this.pausedAtInserted, now);
    this.errorBanner.update(s);
    this.connectionBanner.update(s, now);
    this.liveOffNote.update(s);
    this.root.dataset["connection"] = s.connection;
    this.root.classList.toggle("paused", s.paused);
  }
}

export function mountApp(root: HTMLElement, config: DashboardConfig, deps: AppDeps = {}): App {
  const app = new App(root, config, deps);
  app.start();
  return app;
}
