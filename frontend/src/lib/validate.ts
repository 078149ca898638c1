// Small typed readers for untrusted JSON. Every failure names the field path and what came instead:
// `trace.spans[3].start_ns: expected a number, got "abc"`.

export type Json = Record<string, unknown>;

export class FormatError extends Error {
  readonly path: string;
  constructor(path: string, detail: string) {
    super(`${path}: ${detail}`);
    this.name = "FormatError";
    this.path = path;
  }
}

/** A short, safe description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === undefined) return "nothing (missing)";
  if (v === null) return "null";
  if (typeof v === "string") {
    const s = v.length > 40 ? `${v.slice(0, 40)}…` : v;
    return JSON.stringify(s);
  }
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

export function fail(path: string, expected: string, got: unknown): never {
  throw new FormatError(path, `expected ${expected}, got ${describe(got)}`);
}

export function join(path: string, key: string | number): string {
  return typeof key === "number" ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function obj(v: unknown, path: string): Json {
  if (!isObject(v)) fail(path, "an object", v);
  return v;
}

export function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, "an array", v);
  return v;
}

function get(o: Json, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

export function str(o: Json, key: string, path: string, dflt?: string): string {
  const v = get(o, key);
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== "string") fail(join(path, key), "a string", v);
  return v;
}

export function strOrNull(o: Json, key: string, path: string): string | null {
  const v = get(o, key);
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") fail(join(path, key), "a string or null", v);
  return v;
}

export function num(o: Json, key: string, path: string, opts: { int?: boolean; min?: number; dflt?: number } = {}): number {
  const v = get(o, key);
  if (v === undefined && opts.dflt !== undefined) return opts.dflt;
  return checkNum(v, join(path, key), opts);
}

export function numOrNull(o: Json, key: string, path: string, opts: { int?: boolean; min?: number } = {}): number | null {
  const v = get(o, key);
  if (v === undefined || v === null) return null;
  return checkNum(v, join(path, key), opts);
}

export function checkNum(v: unknown, path: string, opts: { int?: boolean; min?: number } = {}): number {
  const what = opts.int ? "an integer" : "a number";
  if (typeof v !== "number" || !Number.isFinite(v)) fail(path, what, v);
  if (opts.int && !Number.isInteger(v)) fail(path, what, v);
  if (opts.min !== undefined && v < opts.min) fail(path, `${what} >= ${opts.min}`, v);
  return v;
}

export function arrField(o: Json, key: string, path: string, dflt?: unknown[]): unknown[] {
  const v = get(o, key);
  if (v === undefined && dflt !== undefined) return dflt;
  return arr(v, join(path, key));
}

export function field(o: Json, key: string): unknown {
  return get(o, key);
}
