// Reads the config the Django view renders with {{ config|json_script:"lifecycle-config" }}.

import { DEFAULT_LIMITS, type DashboardConfig } from "./lib/trace-format";
import { isObject } from "./lib/validate";

export const DEFAULT_CONFIG: DashboardConfig = { wsUrl: "/__lifecycle__/ws/", apiBase: "/__lifecycle__/api/", version: 1, ...DEFAULT_LIMITS, live: true, channels: true, csrfToken: "" };

export function readConfig(doc: Document): { config: DashboardConfig; warning: string | null } {
  const el = doc.getElementById("lifecycle-config");
  if (!el) return { config: DEFAULT_CONFIG, warning: "no #lifecycle-config element: using default paths" };
  try {
    const data: unknown = JSON.parse(el.textContent ?? "");
    if (!isObject(data)) throw new Error("expected an object");
    const str = (k: keyof DashboardConfig, d: string): string => (typeof data[k] === "string" ? (data[k] as string) : d);
    // A limit that is missing or not a positive integer (an older server) keeps the default.
    const limit = (k: keyof typeof DEFAULT_LIMITS): number => {
      const v = data[k];
      return typeof v === "number" && Number.isSafeInteger(v) && v > 0 ? v : DEFAULT_LIMITS[k];
    };
    let apiBase = str("apiBase", DEFAULT_CONFIG.apiBase);
    if (!apiBase.endsWith("/")) apiBase += "/";
    return {
      config: {
        wsUrl: str("wsUrl", DEFAULT_CONFIG.wsUrl),
        apiBase,
        version: typeof data["version"] === "number" ? data["version"] : 1,
        maxTraceBytes: limit("maxTraceBytes"),
        maxSpans: limit("maxSpans"),
        maxDepth: limit("maxDepth"),
        // An older server sends neither: it always had the websocket.
        live: typeof data["live"] === "boolean" ? data["live"] : true,
        channels: typeof data["channels"] === "boolean" ? data["channels"] : true,
        csrfToken: str("csrfToken", ""),
      },
      warning: null,
    };
  } catch (e) {
    return { config: DEFAULT_CONFIG, warning: `#lifecycle-config is not valid JSON (${(e as Error).message}): using default paths` };
  }
}
