// JSON text of untrusted values for display. JSON.stringify recurses: a value nested ~10,000 deep (which
// JSON.parse reads without complaint) makes it throw RangeError, and a huge one makes a huge string.
// This writes what a reader can use: nesting past `maxDepth` as {…} / […], text past `maxChars` as …

export const PREVIEW_DEPTH = 8;
export const PREVIEW_CHARS = 20_000;

export interface PreviewOptions {
  /** Spaces per level (0: on one line, like JSON.stringify(v); 1: like JSON.stringify(v, null, 1)). */
  indent?: number;
  maxDepth?: number;
  maxChars?: number;
}

/** JSON.stringify(v, null, indent) for shallow values; never throws; bounded in depth and length. */
export function jsonPreview(v: unknown, opts: PreviewOptions = {}): string {
  const indent = opts.indent ?? 0;
  const maxDepth = opts.maxDepth ?? PREVIEW_DEPTH;
  const maxChars = opts.maxChars ?? PREVIEW_CHARS;
  const out: string[] = [];
  let size = 0;
  const put = (s: string): boolean => {
    out.push(s);
    size += s.length;
    return size < maxChars;
  };
  // Recursion is bounded by maxDepth, not by the value.
  const write = (x: unknown, depth: number): boolean => {
    if (x === null || typeof x === "boolean") return put(String(x));
    if (typeof x === "number") return put(Number.isFinite(x) ? String(x) : "null");
    if (typeof x === "string") return put(JSON.stringify(x));
    if (typeof x !== "object") return put("null"); // undefined, functions: not in parsed JSON
    const isArr = Array.isArray(x);
    const entries: [string | null, unknown][] = isArr
      ? (x as unknown[]).map((e) => [null, e])
      : Object.entries(x as Record<string, unknown>).filter(([, e]) => e !== undefined);
    const [open, close] = isArr ? ["[", "]"] : ["{", "}"];
    if (entries.length === 0) return put(open + close);
    if (depth >= maxDepth) return put(`${open}…${close}`);
    const pad = indent ? `\n${" ".repeat(indent * (depth + 1))}` : "";
    const end = indent ? `\n${" ".repeat(indent * depth)}` : "";
    if (!put(open)) return false;
    for (let i = 0; i < entries.length; i++) {
      const [k, e] = entries[i] as [string | null, unknown];
      if (!put((i ? "," : "") + pad + (k === null ? "" : JSON.stringify(k) + (indent ? ": " : ":")))) return false;
      if (!write(e, depth + 1)) return false;
    }
    return put(end + close);
  };
  if (!write(v, 0)) {
    const text = out.join("");
    return `${text.slice(0, maxChars)}…`;
  }
  return out.join("");
}

/** JSON.stringify(v) when it can; the bounded preview when the value is too deep for it. */
export function jsonKey(v: unknown): string {
  try {
    return JSON.stringify(v) ?? "null";
  } catch {
    return jsonPreview(v, { maxDepth: 64, maxChars: 1_000_000 });
  }
}
