// Reads the config the Django view renders with {{ config|json_script:"lifecycle-config" }}.

import type { DashboardConfig } from "./lib/trace-format";
import { isObject } from "./lib/validate";

export const DEFAULT_CONFIG: DashboardConfig = { wsUrl: "/__lifecycle__/ws/", apiBase: "/__lifecycle__/api/", version: 1 };

export function readConfig(doc: Document): { config: DashboardConfig; warning: string | null } {
  const el = doc.getElementById("lifecycle-config");
  if (!el) return { config: DEFAULT_CONFIG, warning: "no #lifecycle-config element: using default paths" };
  try {
    const data: unknown = JSON.parse(el.textContent ?? "");
    if (!isObject(data)) throw new Error("expected an object");
    const str = (k: keyof DashboardConfig, d: string): string => (typeof data[k] === "string" ? (data[k] as string) : d);
    let apiBase = str("apiBase", DEFAULT_CONFIG.apiBase);
    if (!apiBase.endsWith("/")) apiBase += "/";
    return {
      config: {
        wsUrl: str("wsUrl", DEFAULT_CONFIG.wsUrl),
        apiBase,
        version: typeof data["version"] === "number" ? data["version"] : 1,
      },
      warning: null,
    };
  } catch (e) {
    return { config: DEFAULT_CONFIG, warning: `#lifecycle-config is not valid JSON (${(e as Error).message}): using default paths` };
  }
}
