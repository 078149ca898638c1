import { describe, expect, it } from "vitest";
import { FormatError, parseRow, parseServerMessage, parseTrace, parseTraceText } from "./trace-parse";
import { BOOK_LIST_LINES, at, fixture, serverGroupsFixture } from "./test-helpers";

describe("parseTrace", () => {
  it("reads the fixtures", () => {
    const t = parseTrace(fixture("book-list"));
    expect(t.id).toBe("6f1c2a0e9b3d4c55");
    expect(t.spans).toHaveLength(31);
    expect(t.spans[0]?.kind).toBe("request");
    expect(t.summary.queries).toBe(21);
    expect(t.summary.duplicate_groups[0]?.span_ids).toHaveLength(20);
    expect(t.summary.duplicate_groups[0]?.stack[0]).toEqual(["shop/models.py", 31, "__str__"]);
    expect(t.response?.status).toBe(200);
    const e = parseTrace(fixture("order-error"));
    expect(e.summary.status).toBe(500);
    expect(e.summary.error).toContain("ValueError");
  });

  it("names the field that is wrong", () => {
    const t = fixture("book-list");
    at(t, "spans", 3).start_ns = "abc";
    expect(() => parseTrace(t)).toThrow(FormatError);
    expect(() => parseTrace(t)).toThrow('trace.spans[3].start_ns: expected an integer >= 0, got "abc"');
  });

  it("names missing required fields", () => {
    const t = fixture("book-list");
    delete at(t, "request").method;
    expect(() => parseTrace(t)).toThrow("trace.request.method: expected a string or null, got nothing (missing)");
    const u = fixture("book-list");
    delete u.spans;
    expect(() => parseTrace(u)).toThrow("trace.spans: expected an array");
  });

  it("checks format and version", () => {
    const t = fixture("book-list");
    t.format = "speedscope";
    expect(() => parseTrace(t)).toThrow('trace.format: expected "lifecycle-trace", got "speedscope"');
    const v = fixture("book-list");
    v.version = 2;
    expect(() => parseTrace(v)).toThrow("trace.version: expected 1, got 2 (this dashboard reads trace format version 1)");
  });

  it("rejects duplicate span ids and unsafe trace ids", () => {
    const t = fixture("book-list");
    at(t, "spans", 5).id = 3;
    expect(() => parseTrace(t)).toThrow("trace.spans[5].id: duplicate span id 3");
    // big ids take the other path of the duplicate check
    const big = fixture("book-list");
    at(big, "spans", 5).id = 1e9;
    at(big, "spans", 6).id = 1e9;
    expect(() => parseTrace(big)).toThrow("trace.spans[6].id: duplicate span id 1000000000");
    const u = fixture("book-list");
    u.id = "../../admin";
    expect(() => parseTrace(u)).toThrow("trace.id");
  });

  it("names nested summary fields", () => {
    const t = fixture("book-list");
    at(t, "summary", "duplicate_groups", 0).span_ids = [1, "x"];
    expect(() => parseTrace(t)).toThrow("trace.summary.duplicate_groups[0].span_ids[1]: expected an integer");
  });

  it("defaults optional fields, and requires what the schema requires", () => {
    const t = fixture("order-error");
    delete at(t, "dropped").reason;
    delete at(t, "summary").similar_groups;
    delete at(t, "request").query;
    const p = parseTrace(t);
    expect(p.dropped).toEqual({ spans: 0, reason: null });
    expect(p.summary.similar_groups).toEqual([]);
    expect(p.request.query).toBe("");
    // spans are the parsed objects themselves (no copy of every span)
    expect(p.spans[1]).toBe(at(t, "spans", 1));
    const raw = fixture("order-error");
    delete at(raw, "spans", 1).name;
    expect(() => parseTrace(raw)).toThrow("trace.spans[1].name: expected a string, got nothing (missing)");
    const noDropped = fixture("order-error");
    delete noDropped.dropped;
    expect(() => parseTrace(noDropped)).toThrow("trace.dropped: expected an object or null, got nothing (missing)");
  });

  it("reads a block trace, whose request has no method or path", () => {
    const t = fixture("order-error");
    t.request = { method: null, path: null, block: "test_checkout", requests: 1 };
    const p = parseTrace(t);
    expect(p.request).toMatchObject({ method: null, path: null, block: "test_checkout", requests: 1, query: "" });
  });

  it("reads N+1 groups, call sites, template lines, similar groups and self time", () => {
    const t = parseTrace(serverGroupsFixture());
    const [g] = t.summary.n_plus_one_groups;
    expect(g?.count).toBe(20);
    expect(g?.distinct_params).toBe(10);
    expect(g?.template_stack).toEqual(BOOK_LIST_LINES);
    expect(t.summary.duplicate_groups[0]?.sites[0]?.count).toBe(20);
    expect(t.summary.similar_groups[0]?.fingerprints).toBe(2);
    expect(t.summary.self_time_ns["middleware"]).toBe(2_000_000);
    const bad = serverGroupsFixture();
    at(bad, "summary", "n_plus_one_groups", 0, "template_stack", 0).line = "x";
    expect(() => parseTrace(bad)).toThrow("trace.summary.n_plus_one_groups[0].template_stack[0].line: expected an integer");
  });

  it("reads a trace saved before N+1 groups and self time", () => {
    const t = parseTrace(fixture("book-list"));
    expect(t.summary.n_plus_one_groups).toEqual([]);
    expect(t.summary.self_time_ns).toEqual(t.summary.time_ns);
    expect(t.summary.duplicate_groups[0]?.sites).toEqual([]);
  });

  it("reads a trace's kind: absent means a request, a websocket trace keeps its event", () => {
    const base = fixture("book-list") as Record<string, unknown>;
    expect(parseTrace(base).kind).toBeUndefined();
    const ws = parseTrace({ ...base, kind: "websocket", request: { method: "WS", path: "/ws/", event: "receive" } });
    expect(ws.kind).toBe("websocket");
    expect(ws.request.event).toBe("receive");
    expect(() => parseTrace({ ...base, kind: "Web Socket" })).toThrow(/^trace\.kind: expected a string matching/);
  });

  it("reports JSON errors with the file name", () => {
    expect(() => parseTraceText("{nope", "slow.json")).toThrow(/^slow\.json: not valid JSON/);
    expect(() => parseTraceText("[]", "slow.json")).toThrow("slow.json: trace: expected an object, got an array of 0");
  });
});

describe("parseServerMessage", () => {
  it("never throws on garbage", () => {
    for (const bad of ["", "nope", "null", "[]", "42", '{"type": 7}', '{"type": "weird"}', undefined]) {
      const r = parseServerMessage(bad);
      expect(r.message).toBeNull();
      expect(r.warnings.length).toBe(1);
    }
  });

  it("reads protocol 2: hello's window and layer, seq, missed_events, status frames", () => {
    expect(parseServerMessage('{"type":"hello","version":2,"dropped_events":0,"window":8,"layer":"down","error":"redis gone"}').message).toEqual({
      type: "hello",
      version: 2,
      dropped_events: 0,
      window: 8,
      layer: "down",
      kinds: {},
      error: "redis gone",
    });
    const ev = parseServerMessage('{"type":"events","seq":7,"events":[],"dropped_events":0,"missed_events":12}');
    expect(ev.seq).toBe(7);
    expect(ev.message).toEqual({ type: "events", seq: 7, events: [], dropped_events: 0, missed_events: 12 });
    expect(parseServerMessage('{"type":"backlog","seq":1,"traces":[]}').seq).toBe(1);
    expect(parseServerMessage('{"type":"status","layer":"up"}').message).toEqual({ type: "status", layer: "up", error: null });
    // A frame that cannot be used still gives its seq, to acknowledge it.
    const bad = parseServerMessage('{"type":"events","seq":9,"events":"nope"}');
    expect(bad.message).toBeNull();
    expect(bad.seq).toBe(9);
    expect(parseServerMessage('{"type":"status","layer":"sideways"}').warnings).toEqual(['status.layer: expected "up", "down" or "none", got "sideways"']);
  });

  it("does not expand a trace.end whose frame is over maxTraceBytes", () => {
    const trace = fixture("book-list");
    const row = { id: "t1", started_at: "s", method: "GET", path: "/", status: 200, duration_ns: 9, queries: 0 };
    const frame = JSON.stringify({ type: "events", seq: 3, events: [{ e: "trace.end", trace_id: "t1", row, trace }] });
    const limits = { maxTraceBytes: 1000, maxSpans: 50_000, maxDepth: 256 };
    const r = parseServerMessage(frame, limits);
    expect(r.message?.type === "events" && r.message.events[0]).toMatchObject({ e: "trace.end", trace: null, row: { id: "t1" } });
    expect(r.warnings).toEqual([]);
    expect(r.notices).toEqual([
      `The live trace t1 is too large to open (${(frame.length / 1000).toFixed(1)} KB, more than the dashboard's limit of 1 KB, LIFECYCLE["DASHBOARD_MAX_TRACE_BYTES"]).`,
    ]);
    const ok = parseServerMessage(frame, { ...limits, maxTraceBytes: 1e6, maxSpans: 5 });
    expect(ok.message?.type === "events" && ok.message.events[0]?.e === "trace.end" && ok.message.events[0].trace?.cut).toMatchObject({ kept: 5 });
  });

  it("parses hello and backlog, skipping bad rows", () => {
    expect(parseServerMessage('{"type":"hello","version":1,"dropped_events":3}').message).toEqual({
      type: "hello",
      version: 1,
      dropped_events: 3,
      window: null,
      layer: "up",
      kinds: {},
      error: null,
    });
    const r = parseServerMessage(
      JSON.stringify({
        type: "backlog",
        traces: [
          { id: "a1", started_at: "x", method: "GET", path: "/", status: 200, duration_ns: 5, queries: 1 },
          { id: "a2", method: 5 },
        ],
      }),
    );
    expect(r.message?.type).toBe("backlog");
    expect(r.message?.type === "backlog" && r.message.traces.map((t) => t.id)).toEqual(["a1"]);
    // A row of an older server has no kind: a request.
    expect(r.message?.type === "backlog" && r.message.traces[0]).toMatchObject({ kind: "request", event: null });
    expect(r.warnings).toEqual(["backlog.traces[1].method: expected a string, got 5"]);
  });

  it("keeps the good events of a batch and the row of a trace.end with a broken trace", () => {
    const row = { id: "t1", started_at: "s", method: "GET", path: "/", status: 200, duration_ns: 9, queries: 0 };
    const r = parseServerMessage(
      JSON.stringify({
        type: "events",
        dropped_events: 2,
        events: [
          { e: "span.start", trace_id: "t1", span: { id: 1, parent_id: 0, kind: "sql", name: "x", start_ns: 1, duration_ns: null } },
          { e: "span.end", trace_id: "t1", span: { id: "1" } },
          { e: "bogus", trace_id: "t1" },
          { e: "trace.end", trace_id: "t1", row, trace: { format: "lifecycle-trace", version: 1 } },
        ],
      }),
    );
    expect(r.message?.type).toBe("events");
    if (r.message?.type !== "events") return;
    expect(r.message.events.map((e) => e.e)).toEqual(["span.start", "trace.end"]);
    expect(r.message.dropped_events).toBe(2);
    const end = r.message.events[1];
    expect(end?.e === "trace.end" && end.trace).toBeNull();
    expect(r.warnings).toHaveLength(3);
    expect(r.warnings[0]).toBe('events.events[1].span.id: expected an integer, got "1"');
  });
});

describe("list rows: query, user, statements and templates", () => {
  const base = { id: "abc", started_at: "2026-12-07T14:02:00.000000Z", method: "GET", path: "/books/", status: 200, duration_ns: 5 };
  it("reads them, and an older server's row without them as empty", () => {
    const r = parseRow({ ...base, query: "page=2", user: "alice", sql: ["SELECT ?"], templates: ["a.html"] }, "row");
    expect([r.query, r.user, r.sql, r.templates]).toEqual(["page=2", "alice", ["SELECT ?"], ["a.html"]]);
    const old = parseRow(base, "row");
    expect([old.query, old.user, old.sql, old.templates]).toEqual(["", null, [], []]);
  });

  it("refuses a row whose lists are not lists of strings", () => {
    expect(() => parseRow({ ...base, sql: "SELECT 1" }, "row")).toThrow('row.sql: expected an array of strings, got "SELECT 1"');
    expect(() => parseRow({ ...base, templates: [1] }, "row")).toThrow("row.templates: expected an array of strings, got an array of 1");
  });
});
