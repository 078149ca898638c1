// How each span kind is drawn: a label, a colour and a one-character symbol (colours are never the only
// cue). The server's registry (lifecycle.kinds) is the source: every trace carries the description of the
// kinds it holds (`kinds`), the websocket's hello message every kind the server's instruments registered.
// The built-in kinds below are the fallback for files and servers from before `kinds`, and keep their
// colours as CSS variables (styles.css, with dark-theme overrides; the canvas reads the same variables).
// A kind nobody described gets the neutral style.

import { KNOWN_KINDS, type KnownKind } from "./trace-format";

export interface KindStyle {
  /** CSS custom property holding the colour ("" for a learned kind: see `color`). */
  cssVar: string;
  /** The colour of a learned kind ("#rrggbb"); null for the built-in ones (see `cssVar`). */
  color: string | null;
  /** One-character symbol drawn next to the colour. */
  symbol: string;
  label: string;
}

/** What the server sends for one kind. */
export interface KindDescription {
  label: string;
  symbol: string;
  color: string;
}

const builtin = (name: string, symbol: string, label: string): KindStyle => ({
  cssVar: `--kind-${name}`,
  color: null,
  symbol,
  label,
});

const STYLES: Record<KnownKind, KindStyle> = {
  request: builtin("request", "R", "request"),
  middleware: builtin("middleware", "M", "middleware"),
  resolve: builtin("resolve", "U", "URL resolve"),
  view: builtin("view", "V", "view"),
  sql: builtin("sql", "Q", "SQL"),
  template: builtin("template", "T", "template"),
  cache: builtin("cache", "C", "cache"),
  exception: builtin("exception", "!", "exception"),
};

export const UNKNOWN_KIND: KindStyle = { cssVar: "--kind-unknown", color: null, symbol: "?", label: "other" };

const KIND_NAME = /^[a-z][a-z0-9_]{0,31}$/;
const COLOR = /^#[0-9a-fA-F]{6}$/;
const MAX_LEARNED = 256;

/** Kinds learned from the server, by name (bounded: a hostile stream cannot grow it without end). */
const learned = new Map<string, KindStyle>();

export function isKnownKind(kind: string): kind is KnownKind {
  return (KNOWN_KINDS as readonly string[]).includes(kind);
}

/**
 * Valid entries of a `kinds` object (from a trace or the hello message); anything else is left out:
 * names must be `[a-z][a-z0-9_]*`, the symbol one character, the colour `#rrggbb`, the label a short
 * string. The values are only ever shown as text or used as a colour.
 */
export function parseKinds(raw: unknown): Record<string, KindDescription> {
  const out: Record<string, KindDescription> = {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return out;
  for (const [name, desc] of Object.entries(raw as Record<string, unknown>)) {
    if (!KIND_NAME.test(name) || typeof desc !== "object" || desc === null) continue;
    const { label, symbol, color } = desc as Record<string, unknown>;
    if (typeof label !== "string" || label.length === 0 || label.length > 40) continue;
    if (typeof symbol !== "string" || [...symbol].length !== 1) continue;
    if (typeof color !== "string" || !COLOR.test(color)) continue;
    out[name] = { label, symbol, color };
  }
  return out;
}

/** Remember the description of kinds the dashboard has no style of its own for. */
export function learnKinds(raw: unknown): void {
  for (const [name, desc] of Object.entries(parseKinds(raw))) {
    if (!learned.has(name) && learned.size >= MAX_LEARNED) continue;
    // The built-in kinds keep their themed colours (light and dark: styles.css); their label and symbol
    // are the server's, like every other kind's.
    const color = isKnownKind(name) ? null : desc.color.toLowerCase();
    const cssVar = isKnownKind(name) ? STYLES[name].cssVar : "";
    learned.set(name, { cssVar, color, symbol: desc.symbol, label: desc.label });
  }
}

/** Forget the learned kinds (tests). */
export function forgetKinds(): void {
  learned.clear();
}

export function kindStyle(kind: string): KindStyle {
  return learned.get(kind) ?? (isKnownKind(kind) ? STYLES[kind] : UNKNOWN_KIND);
}

/** CSS class suffix for a kind: built-in kinds by name, anything else "unknown" (never user text). */
export function kindClass(kind: string): string {
  return isKnownKind(kind) ? kind : "unknown";
}

/** The paint of a kind: its CSS variable, or its learned colour. */
export function kindPaint(kind: string): string {
  const s = kindStyle(kind);
  return s.color ?? s.cssVar;
}

/** Colours an element (a kind icon) for a learned kind; built-in kinds are coloured by their class. */
export function paintKindIcon(el: HTMLElement, kind: string): void {
  const s = kindStyle(kind);
  // CSSOM, not a style attribute: allowed under a Content-Security-Policy without 'unsafe-inline'.
  el.style.backgroundColor = s.color ?? "";
}

/** Colors for the duplicate-group chips (cycled). */
export const GROUP_COLOR_VARS = ["--group-0", "--group-1", "--group-2", "--group-3", "--group-4", "--group-5"];
