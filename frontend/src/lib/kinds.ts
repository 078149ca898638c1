// One fixed color and symbol per span kind. Colors are CSS variables (styles.css, with dark-theme
// overrides); the canvas reads the same variables. Unknown kinds get the neutral one.

import { KNOWN_KINDS, type KnownKind } from "./trace-format";

export interface KindStyle {
  /** CSS custom property holding the color. */
  cssVar: string;
  /** One-character symbol drawn next to the color (colors are never the only cue). */
  symbol: string;
  label: string;
}

const STYLES: Record<KnownKind, KindStyle> = {
  request: { cssVar: "--kind-request", symbol: "R", label: "request" },
  middleware: { cssVar: "--kind-middleware", symbol: "M", label: "middleware" },
  resolve: { cssVar: "--kind-resolve", symbol: "U", label: "URL resolve" },
  view: { cssVar: "--kind-view", symbol: "V", label: "view" },
  sql: { cssVar: "--kind-sql", symbol: "Q", label: "SQL" },
  template: { cssVar: "--kind-template", symbol: "T", label: "template" },
  cache: { cssVar: "--kind-cache", symbol: "C", label: "cache" },
  exception: { cssVar: "--kind-exception", symbol: "!", label: "exception" },
};

export const UNKNOWN_KIND: KindStyle = { cssVar: "--kind-unknown", symbol: "?", label: "other" };

export function isKnownKind(kind: string): kind is KnownKind {
  return (KNOWN_KINDS as readonly string[]).includes(kind);
}

export function kindStyle(kind: string): KindStyle {
  return isKnownKind(kind) ? STYLES[kind] : UNKNOWN_KIND;
}

/** CSS class suffix for a kind: known kinds by name, anything else "unknown" (never user text). */
export function kindClass(kind: string): string {
  return isKnownKind(kind) ? kind : "unknown";
}

/** Colors for the duplicate-group chips (cycled). */
export const GROUP_COLOR_VARS = ["--group-0", "--group-1", "--group-2", "--group-3", "--group-4", "--group-5"];
