// The error banner (malformed frames, traces that fail validation, files that do not load), the
// connection banner (socket down, refused, or never opened) and the calm note shown where the server
// has no live events at all (the list is polled).

import type { ConnectionProblem } from "../lib/protocol";
import type { AppState } from "../state";
import { h, setAttr, setText, toggle } from "./dom";

export class ErrorBanner {
  readonly el: HTMLElement;
  private readonly list: HTMLUListElement;
  private shown: readonly string[] = [];

  constructor(onDismiss: () => void) {
    this.list = h("ul", { class: "error-list" });
    const close = h("button", { class: "btn btn-small", text: "Dismiss", attrs: { type: "button" } });
    close.addEventListener("click", onDismiss);
    this.el = h("div", { class: "error-banner", testid: "error-banner", attrs: { role: "alert" } }, this.list, close);
    this.el.hidden = true;
  }

  update(s: AppState): void {
    if (s.errors === this.shown) return;
    this.shown = s.errors;
    this.list.replaceChildren(...s.errors.map((e) => h("li", { text: e })));
    toggle(this.el, s.errors.length > 0);
  }
}

/** What the banner says about a refusal or a socket that never opened (null: the generic text). */
export function problemText(problem: ConnectionProblem | null, ctx: { url: string; origin: string }): string | null {
  switch (problem) {
    case "forbidden":
      return (
        "You are not allowed to see this dashboard: DEBUG must be on and your IP in INTERNAL_IPS, " +
        "or sign in as staff (LIFECYCLE['ACCESS_CALLBACK']). The server refused the live connection (code 4403) " +
        "and it is not retried by itself: fix the access, then press Retry."
      );
    case "revoked":
      return (
        "Access revoked: log in again. The server closed the live connection (code 4403) because this viewer " +
        "is no longer allowed (logged out, or no longer staff); it is not retried by itself: log in, then press Retry."
      );
    case "cross-origin":
      return (
        `The server refused the live connection as cross-origin (code 4400): this page's origin, ${ctx.origin}, ` +
        "is not the dashboard's own origin (the scheme, host and port of its websocket) nor one of " +
        "LIFECYCLE[\"ALLOWED_ORIGINS\"]. Open the dashboard from its own address, or add this origin to " +
        "LIFECYCLE[\"ALLOWED_ORIGINS\"], then press Retry."
      );
    case "flood":
      return (
        "The server closed the live connection for too many commands (code 4429: more pings or backlog " +
        "requests than LIFECYCLE[\"LIVE_CLIENT_RATE\"] allows). Reconnecting with backoff."
      );
    case "unreachable":
      return (
        `The live connection to ${ctx.url} has never opened. Check that the site's asgi.py routes websockets to ` +
        "lifecycle.routing.websocket_urlpatterns and that the server speaks ASGI (\"daphne\" in INSTALLED_APPS for " +
        "runserver, or daphne/uvicorn); with AllowedHostsOriginValidator, this page's host must also be in ALLOWED_HOSTS."
      );
    default:
      return null;
  }
}

/** The socket is open but the server's channel layer does not deliver (status / hello layer "down"). */
export function layerDownText(error: string | null): string {
  return (
    `Channel layer down: no live events${error ? ` (${error})` : ""}. The server reports it and checks again every ` +
    "few seconds; the list catches up once the layer is back. What is shown stays readable."
  );
}

export const LIVE_EXTRA_HINT = 'pip install "django-request-lifecycle[live]"';

/** What the note says where the server has no live events (DashboardConfig.live false). */
export function liveOffText(channels: boolean, pollIntervalMs: number): { text: string; hint: string } {
  const every = `the list refreshes every ${Math.round(pollIntervalMs / 1000)} s`;
  return channels
    ? {
        text: `Live updates are off (no channel layer is configured for lifecycle: CHANNEL_LAYERS, LIFECYCLE["CHANNEL_LAYER"]): ${every}.`,
        hint: 'Configure CHANNEL_LAYERS (and route lifecycle.routing.websocket_urlpatterns in asgi.py) for live updates.',
      }
    : { text: `Live updates are off (Django Channels is not installed): ${every}.`, hint: `For live updates: ${LIVE_EXTRA_HINT}` };
}

/** The calm note of a dashboard without live events; it also says when reading the list failed. */
export class LiveOffNote {
  readonly el: HTMLElement;
  private readonly problem: HTMLElement;

  constructor(ctx: { channels: boolean; pollIntervalMs: number }) {
    const { text, hint } = liveOffText(ctx.channels, ctx.pollIntervalMs);
    this.problem = h("span", { class: "live-off-problem", testid: "poll-error" });
    this.problem.hidden = true;
    this.el = h(
      "div",
      { class: "live-off-note", testid: "live-off-note", attrs: { role: "status" } },
      h("span", { text }),
      h("code", { class: "live-off-hint", text: hint }),
      this.problem,
    );
    this.el.hidden = true;
  }

  update(s: AppState): void {
    toggle(this.el, s.connection === "off");
    toggle(this.problem, s.pollError !== null);
    setText(this.problem, s.pollError ?? "");
  }
}

/** Shown while the socket is down: the data stays readable. Says why, when the close code tells. */
export class ConnectionBanner {
  readonly el: HTMLElement;
  private readonly text: HTMLElement;
  private readonly retry: HTMLButtonElement;

  constructor(
    private readonly ctx: { url: string; origin: string; pollIntervalMs?: number },
    onRetry: () => void,
  ) {
    this.text = h("span", { class: "connection-text" });
    this.retry = h("button", { class: "btn btn-small", testid: "connection-retry", text: "Retry", attrs: { type: "button" } });
    this.retry.addEventListener("click", onRetry);
    this.el = h("div", { class: "connection-banner", testid: "connection-banner", attrs: { role: "status" } }, this.text, this.retry);
    this.el.hidden = true;
  }

  update(s: AppState, nowMs: number): void {
    const down = s.connection === "reconnecting" || s.connection === "disconnected" || s.connection === "refused" || s.connectionProblem === "unreachable";
    const layerDown = s.connection === "live" && s.layer === "down";
    toggle(this.el, down || layerDown);
    if (layerDown) {
      setAttr(this.el, "data-problem", "layer-down");
      this.el.classList.remove("refused");
      toggle(this.retry, false);
      setText(this.text, layerDownText(s.layerError));
      return;
    }
    toggle(this.retry, true);
    if (!down) return;
    const refused = s.connection === "refused";
    const problem = refused || s.connectionProblem === "unreachable" || s.connectionProblem === "flood" ? s.connectionProblem : null;
    setAttr(this.el, "data-problem", problem);
    this.el.classList.toggle("refused", refused);
    const wait = s.retryAt !== null ? Math.max(0, Math.ceil((s.retryAt - nowMs) / 1000)) : null;
    const next = wait === null ? "Connecting…" : `Retrying in ${wait} s.`;
    const why = problemText(problem, this.ctx);
    let text = why === null ? `Connection to the server lost. ${next} What is shown stays readable.` : refused ? why : `${why} ${next}`;
    if (s.polling && !refused) {
      const every = Math.round((this.ctx.pollIntervalMs ?? 5000) / 1000);
      text += s.pollError ? ` Reading the list over HTTP failed too: ${s.pollError}` : ` Meanwhile the list is read over HTTP every ${every} s.`;
    }
    setText(this.text, text);
  }
}
