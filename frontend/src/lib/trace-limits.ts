// The dashboard's own limits on what it reads (DashboardConfig: maxTraceBytes, maxSpans, maxDepth), so
// that a hostile or huge file, API answer or live frame cannot freeze or crash the page. Sizes are
// checked before the text is read or parsed; spans past maxSpans or deeper than maxDepth are cut off
// and the cut recorded on the trace (Trace.cut) for the notice.

import type { DashboardConfig, Span, Trace, TraceCut } from "./trace-format";

export type Limits = Pick<DashboardConfig, "maxTraceBytes" | "maxSpans" | "maxDepth">;

const count = (n: number): string => n.toLocaleString("en-US");

export function formatLimitBytes(n: number): string {
  if (n >= 1e6) return `${count(Math.round(n / 1e5) / 10)} MB`;
  if (n >= 1e3) return `${count(Math.round(n / 100) / 10)} KB`;
  return `${count(n)} bytes`;
}

/** The refusal of something larger than maxTraceBytes, naming the size, the limit and its setting. */
export function tooLargeMessage(what: string, bytes: number | null, limit: number): string {
  const size = bytes === null ? "more than" : `${formatLimitBytes(bytes)}, more than`;
  return (
    `${what} is too large to open (${size} the dashboard's limit of ${formatLimitBytes(limit)}, ` +
    'LIFECYCLE["DASHBOARD_MAX_TRACE_BYTES"]).'
  );
}

export class TooLargeError extends Error {
  constructor(what: string, bytes: number | null, limit: number) {
    super(tooLargeMessage(what, bytes, limit));
    this.name = "TooLargeError";
  }
}

/**
 * The body of a response as text, refused before it is read when its Content-Length is over `limit`,
 * and while it is read (bytes counted as they come) when there is none or it lies.
 */
export async function readLimited(res: Response, limit: number, what: string): Promise<string> {
  const declared = res.headers.get("Content-Length");
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > limit) {
    void res.body?.cancel().catch(() => undefined);
    throw new TooLargeError(what, Number(declared), limit);
  }
  if (!res.body) {
    const text = await res.text();
    if (text.length > limit) throw new TooLargeError(what, text.length, limit);
    return text;
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const parts: string[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      void reader.cancel().catch(() => undefined);
      throw new TooLargeError(what, null, limit);
    }
    parts.push(decoder.decode(value, { stream: true }));
  }
  parts.push(decoder.decode());
  return parts.join("");
}

/**
 * Depth of every span (0 for roots, orphans and where a cycle closes), without recursion: each span
 * climbs to the nearest ancestor of known depth, then the path is filled in on the way back.
 */
export function spanDepths(spans: readonly Span[]): Int32Array {
  const index = new Map<number, number>();
  for (let i = 0; i < spans.length; i++) {
    const id = (spans[i] as Span).id;
    if (!index.has(id)) index.set(id, i);
  }
  const depth = new Int32Array(spans.length).fill(-1);
  const onPath = new Int32Array(spans.length).fill(-1); // the climb (by its start) a span is on
  const path: number[] = [];
  for (let i = 0; i < spans.length; i++) {
    if (depth[i] !== -1) continue;
    path.length = 0;
    let cur = i;
    let base = -1; // depth of the first ancestor already known
    for (;;) {
      path.push(cur);
      onPath[cur] = i;
      const pid = (spans[cur] as Span).parent_id;
      const p = pid === null ? undefined : index.get(pid);
      if (p === undefined || p === cur || onPath[p] === i) break; // root, orphan or a cycle: depth 0 here
      if (depth[p] !== -1) {
        base = depth[p] as number;
        break;
      }
      cur = p;
    }
    for (let k = path.length - 1; k >= 0; k--) depth[path[k] as number] = ++base;
  }
  return depth;
}

/**
 * The trace within the limits: its first `maxSpans` spans, without those nested `maxDepth` levels or
 * deeper (a root is at depth 0). The same object when nothing is cut.
 */
export function limitTrace(trace: Trace, limits: Pick<Limits, "maxSpans" | "maxDepth">, totalSpans = trace.spans.length): Trace {
  let spans = trace.spans.length > limits.maxSpans ? trace.spans.slice(0, limits.maxSpans) : trace.spans;
  const kept = spans.length;
  let tooDeep = 0;
  if (spans.length > limits.maxDepth) {
    // Fewer spans than levels cannot go too deep: most traces skip this.
    const depth = spanDepths(spans);
    for (let i = 0; i < depth.length; i++) if ((depth[i] as number) >= limits.maxDepth) tooDeep++;
    if (tooDeep) spans = spans.filter((_, i) => (depth[i] as number) < limits.maxDepth);
  }
  if (totalSpans === kept && tooDeep === 0 && !trace.cut) return trace;
  const cut: TraceCut = { spans: Math.max(totalSpans, trace.cut?.spans ?? 0), kept, tooDeep, maxDepth: limits.maxDepth };
  return { ...trace, spans, cut };
}

/** The notice for a cut trace: "Showing 50,000 of 200,000 spans (...)". */
export function cutNotice(cut: TraceCut): string[] {
  const out: string[] = [];
  if (cut.kept < cut.spans) {
    out.push(`Showing ${count(cut.kept)} of ${count(cut.spans)} spans: the dashboard keeps the first ${count(cut.kept)} (LIFECYCLE["DASHBOARD_MAX_SPANS"]).`);
  }
  if (cut.tooDeep > 0) {
    out.push(`${count(cut.tooDeep)} spans nested deeper than ${count(cut.maxDepth)} levels are not shown (LIFECYCLE["DASHBOARD_MAX_DEPTH"]).`);
  }
  return out;
}
