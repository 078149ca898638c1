/// <reference types="node" />
// The corpus tests/test_trace_corpus.py runs too: the dashboard must accept the good files and refuse each
// bad one with the error tests/trace-corpus/expected-errors.json gives, exactly as the Python loader does.

import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "./trace-format";
import { decodeTraceFile, parseTraceText } from "./trace-parse";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CORPUS = `${ROOT}tests/trace-corpus/`;
const json = (dir: string): string[] =>
  readdirSync(`${ROOT}${dir}`)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => `${dir}/${f}`);

interface Expected {
  path: string;
  error: string;
}
const EXPECTED = JSON.parse(readFileSync(`${CORPUS}expected-errors.json`, "utf-8")) as Record<string, Expected>;
// The committed sample traces are good files too: the replay tests' recordings and these tests' fixtures.
const GOOD = [...json("tests/trace-corpus/good"), ...json("tests/traces"), ...json("frontend/src/lib/__fixtures__")];
const BAD = json("tests/trace-corpus/bad");

/** What the dashboard does with a file the user opens (views/app.ts openFile). */
function open(file: string): ReturnType<typeof parseTraceText> {
  const name = file.split("/").pop() as string;
  return parseTraceText(decodeTraceFile(readFileSync(`${ROOT}${file}`), name), name, DEFAULT_LIMITS);
}

describe("the trace corpus", () => {
  it("indexes every bad file", () => {
    expect(GOOD.length).toBeGreaterThanOrEqual(14);
    expect(Object.keys(EXPECTED).sort()).toEqual(BAD.map((f) => f.split("/").pop()));
  });

  it.each(GOOD)("opens %s", (file) => {
    const trace = open(file);
    const raw = JSON.parse(readFileSync(`${ROOT}${file}`, "utf-8")) as { spans: unknown[] };
    expect(trace.spans).toHaveLength(raw.spans.length);
  });

  it.each(BAD)("refuses %s naming the field", (file) => {
    const name = file.split("/").pop() as string;
    const expected = EXPECTED[name] as Expected;
    let message = "";
    try {
      open(file);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.startsWith(`${name}: `), message || "accepted").toBe(true);
    if (expected.path) expect(message).toContain(`: trace.${expected.path}: `);
    expect(message).toContain(expected.error);
  });
});
