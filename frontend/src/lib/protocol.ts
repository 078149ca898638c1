// The live protocol's rules for the client side (docs/trace-format.md, "Websocket"): what a close code
// means, whether to reconnect after it, and the limit on the frames we send.

import type { ClientMessage } from "./trace-format";

/** The access callback (LIFECYCLE["ACCESS_CALLBACK"]) refused this viewer, at connect or at a re-check. */
export const CLOSE_FORBIDDEN = 4403;
/** Cross-origin: the page's origin is not the dashboard's own nor in LIFECYCLE["ALLOWED_ORIGINS"]. */
export const CLOSE_BAD_ORIGIN = 4400;
/** The client sent commands (ping, backlog) far over the server's rate limit. */
export const CLOSE_FLOOD = 4429;
/** No close frame: the connection dropped, or the handshake failed (HTTP 403/404, not ASGI, refused). */
export const CLOSE_ABNORMAL = 1006;

/**
 * The server answers a client frame longer than this with an error frame (lifecycle/consumers.py,
 * MAX_CLIENT_FRAME). JavaScript counts UTF-16 units and Python code points, so a string that is short
 * enough here is short enough there.
 */
export const MAX_CLIENT_FRAME_CHARS = 4096;

/**
 * Why the socket is not live, when we can tell:
 * - `forbidden` (4403 before any open), `revoked` (4403 once connected: the viewer logged out or lost
 *   the permission, which the server re-checks every few seconds) and `cross-origin` (4400): the
 *   server refused; retrying changes nothing until the settings or the login change, so we stop and
 *   wait for the user's Retry;
 * - `flood` (4429): too many commands; we reconnect, but only after a long backoff step;
 * - `unreachable`: 1006 before any successful open, which is what a missing websocket route, a WSGI
 *   server or a handshake refused by AllowedHostsOriginValidator look like; we keep retrying.
 */
export type ConnectionProblem = "forbidden" | "revoked" | "cross-origin" | "flood" | "unreachable";

export interface CloseVerdict {
  problem: ConnectionProblem | null;
  retry: boolean;
}

/**
 * What a close means. `code` is undefined when the close event carried none (treated as 1006).
 * `everOpened`: some socket of this page opened before; `connected`: this one received frames.
 */
export function closeVerdict(code: number | undefined, everOpened: boolean, connected = false): CloseVerdict {
  if (code === CLOSE_FORBIDDEN) return { problem: connected ? "revoked" : "forbidden", retry: false };
  if (code === CLOSE_BAD_ORIGIN) return { problem: "cross-origin", retry: false };
  if (code === CLOSE_FLOOD) return { problem: "flood", retry: true };
  if (!everOpened && (code === undefined || code === CLOSE_ABNORMAL)) return { problem: "unreachable", retry: true };
  return { problem: null, retry: true };
}

/**
 * The text frame for a client message, or null (with the reason) when it would be refused by the
 * server. Our messages are tiny; this keeps a future one from being silently answered with an error.
 */
export function encodeClientMessage(msg: ClientMessage): { text: string } | { error: string } {
  const text = JSON.stringify(msg);
  if (typeof text !== "string") return { error: "message is not JSON-serializable" };
  if (text.length >= MAX_CLIENT_FRAME_CHARS) {
    return { error: `message too large: ${text.length} characters, the server takes fewer than ${MAX_CLIENT_FRAME_CHARS}` };
  }
  return { text };
}

/** The origin of a page: scheme, host and port (what the server compares with ALLOWED_ORIGINS). */
export function originOf(loc: { protocol: string; host: string }): string {
  return `${loc.protocol}//${loc.host}`;
}
