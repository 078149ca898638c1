// Number and time formatting shared by the views.

/** "850 ns", "53.0 µs", "10.2 ms", "1.23 s": three significant digits. */
export function formatDuration(ns: number | null | undefined): string {
  if (ns === null || ns === undefined || !Number.isFinite(ns)) return "–";
  const abs = Math.abs(ns);
  if (abs < 1_000) return `${Math.round(ns)} ns`;
  if (abs < 1_000_000) return `${sig(ns / 1_000)} µs`;
  if (abs < 1_000_000_000) return `${sig(ns / 1_000_000)} ms`;
  return `${sig(ns / 1_000_000_000)} s`;
}

function sig(v: number): string {
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9 };

/** "200ms", "1.5s", "300us", "200" (ms) -> ns; null when it does not parse. */
export function parseDurationNs(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s)?$/i.exec(text.trim());
  if (!m || m[1] === undefined) return null;
  const unit = (m[2] ?? "ms").toLowerCase();
  const mult = UNITS[unit];
  return mult === undefined ? null : Number(m[1]) * mult;
}

/**
 * Sort key for ISO timestamps with microseconds ("2026-11-25T01:40:00.123456Z"): Date.parse keeps
 * only milliseconds, so the microsecond digits are added back.
 */
export function timeKeyUs(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return 0;
  const frac = /\.(\d+)/.exec(iso)?.[1] ?? "";
  const micro = Number((frac + "000000").slice(3, 6));
  return ms * 1000 + micro;
}

/** "3 s ago", "5 min ago", or the local time for older ones. */
export function formatAge(iso: string, nowMs: number): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const s = Math.max(0, Math.round((nowMs - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return new Date(t).toLocaleTimeString();
}

/** "14:02:31": the time of day of an ISO timestamp in the browser's time zone (what after:/before: filter on). */
export function formatTimeOfDay(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const d = new Date(t);
  const two = (n: number): string => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export function statusClass(status: number | null): string {
  if (status === null) return "running";
  if (status >= 500) return "5xx";
  if (status >= 400) return "4xx";
  if (status >= 300) return "3xx";
  if (status >= 200) return "2xx";
  return "1xx";
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
