// The request detail's response body: a JSON or text answer as the trace kept it (redacted, capped by
// RESPONSE_BODY_BYTES), or why it was not kept.

import type { ResponseInfo } from "../lib/trace-format";
import { h } from "./dom";

/** JSON pretty-printed (2 spaces); other text as it came. */
export function bodyText(body: string): string {
  const head = body.trimStart()[0];
  if (head !== "{" && head !== "[") return body;
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

/** The "Response body" section; null for a trace without one (an older file, no response). */
export function responseBodySection(res: ResponseInfo): HTMLElement | null {
  if (res.body === undefined && res.body_omitted === undefined) return null;
  const content =
    typeof res.body === "string"
      ? h("pre", { class: "body-text", testid: "response-body", text: bodyText(res.body) })
      : h("p", { class: "muted", testid: "response-body-omitted", text: res.body_omitted ? `Not kept: ${res.body_omitted}` : "Empty" });
  return h("section", { class: "detail-section" }, h("h3", { text: "Response body" }), content);
}
