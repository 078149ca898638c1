// Reconnect delays: exponential with full jitter, capped.

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000 };

/** Delay before reconnect attempt `attempt` (0-based). `random` is injectable for tests. */
export function backoffDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random = Math.random): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  // Half fixed, half jitter: never hammer the server in lockstep, never wait less than half the step.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * For a socket that has never opened (a 404 or a refused handshake: no websocket route, a WSGI server):
 * that is a setup problem, not a blip, so retries slow down sooner and further, to one a minute (the
 * dashboard polls the list meanwhile: POLL_FALLBACK_AFTER).
 */
export const UNREACHABLE_BACKOFF: BackoffOptions = { baseMs: 2_000, maxMs: 60_000 };

/** After this many failed attempts in a row, the dashboard also polls the list over HTTP. */
export const POLL_FALLBACK_AFTER = 2;

/** After this many failed attempts in a row the pill says "disconnected" (retries go on at maxMs). */
export const ATTEMPTS_BEFORE_DISCONNECTED = 6;

/** ws:// or wss:// URL for a configured path, relative to the page's host. */
export function websocketUrl(wsUrl: string, loc: { protocol: string; host: string }): string {
  if (/^wss?:\/\//i.test(wsUrl)) return wsUrl;
  if (/^https?:\/\//i.test(wsUrl)) return wsUrl.replace(/^http/i, "ws");
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  const path = wsUrl.startsWith("/") ? wsUrl : `/${wsUrl}`;
  return `${scheme}//${loc.host}${path}`;
}
