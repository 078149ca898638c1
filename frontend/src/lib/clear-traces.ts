// The top bar's Clear: `POST {apiBase}traces/clear/` with Django's CSRF token (DashboardConfig.csrfToken)
// in X-CSRFToken. The page empties its own list at once; this says what the server answered.

import { errorText } from "./trace-parse";

/** null when the server cleared its traces, else a sentence for the error banner. */
export async function clearServerTraces(apiBase: string, csrfToken: string, fetchFn: typeof fetch): Promise<string | null> {
  const url = `${apiBase}traces/clear/`;
  let res: Response;
  try {
    res = await fetchFn(url, { method: "POST", headers: { "X-CSRFToken": csrfToken, Accept: "application/json" }, credentials: "same-origin" });
  } catch (e) {
    return `Could not clear the server's traces (${url}): ${errorText(e)}. The list is emptied on this page only.`;
  }
  if (res.ok) return null;
  const said = await serverError(res);
  const only = "The list is emptied on this page only; the server keeps its traces.";
  if (res.status === 404) {
    return `The server has no clear endpoint (POST ${url} answered 404: a lifecycle version without it, or lifecycle is off). ${only}`;
  }
  if (res.status === 403) {
    return said
      ? `The server refused to clear its traces: ${said} ${only}`
      : `The server refused to clear its traces (403: the CSRF check failed; reload the dashboard and try again). ${only}`;
  }
  return `Could not clear the server's traces: HTTP ${res.status}${said ? ` (${said})` : ""}. ${only}`;
}

/** The API's `{"error": "..."}` sentence, if the answer is one (a CSRF failure is an HTML page). */
async function serverError(res: Response): Promise<string | null> {
  if (!(res.headers.get("Content-Type") ?? "").includes("json")) return null;
  try {
    const data: unknown = await res.json();
    const error = typeof data === "object" && data !== null ? (data as Record<string, unknown>)["error"] : undefined;
    return typeof error === "string" && error ? error.slice(0, 300) : null;
  } catch {
    return null;
  }
}
