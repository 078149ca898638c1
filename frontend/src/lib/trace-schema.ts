// What a valid trace file is: lifecycle/schema/trace-v1.json (imported at build time), applied, plus the
// rules a schema cannot say. The same small interpreter of the JSON Schema subset the schema uses as
// lifecycle/trace_schema.py, keyword for keyword and in the same order, so that the dashboard and the Python
// loader accept the same files and name the same first error (tests/trace-corpus is run by both).
// A keyword outside the subset throws when the schema is compiled: a schema that grows one fails the tests.

import schemaJson from "../../../lifecycle/schema/trace-v1.json";
import { describe, isObject } from "./validate";

type Node = Record<string, unknown>;
type Check = (v: unknown) => void;

export const TRACE_SCHEMA = schemaJson as unknown as Node;

/** A value the schema refuses: the keys from the document's root to it, and what was wrong. */
export class SchemaError extends Error {
  /** Innermost first: keys are added while the error travels out. */
  private readonly reversed: (string | number)[] = [];
  constructor(readonly detail: string) {
    super(detail);
    this.name = "SchemaError";
  }
  at(key: string | number): this {
    this.reversed.push(key);
    return this;
  }
  /** `spans[3].start_ns`, as lifecycle/trace_schema.py writes it. */
  get path(): string {
    let out = "";
    for (let i = this.reversed.length - 1; i >= 0; i--) {
      const key = this.reversed[i] as string | number;
      out = typeof key === "number" ? `${out}[${key}]` : out ? `${out}.${key}` : key;
    }
    return out;
  }
}

const IGNORED = new Set(["$schema", "$id", "$defs", "$comment", "title", "description"]);
const KEYWORDS = new Set([
  "type", "const", "enum", "minimum", "maximum", "minLength", "maxLength", "pattern", "required", "properties",
  "propertyNames", "additionalProperties", "minItems", "maxItems", "prefixItems", "items", "$ref", "allOf", "if", "then",
]);
const TYPE_WORDS: Record<string, string> = {
  string: "a string", integer: "an integer", number: "a number", boolean: "true or false", object: "an object",
  array: "an array", null: "null",
};

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const TYPE_TESTS: Record<string, (v: unknown) => boolean> = {
  string: (v) => typeof v === "string",
  object: isObject,
  array: (v) => Array.isArray(v),
  null: (v) => v === null,
  boolean: (v) => typeof v === "boolean",
  // JSON Schema: a number with no fractional part (JSON.parse reads 1.0 as 1 anyway).
  integer: (v) => isNumber(v) && Number.isInteger(v),
  number: isNumber,
};

/** Length in Unicode code points, as JSON Schema (and Python's len) count: "🔧" is one character. */
function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) i++;
    }
    n++;
  }
  return n;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  return a === b; // the schema's const and enum values are strings and numbers
}

function types(node: Node): string[] {
  const t = node["type"];
  return Array.isArray(t) ? (t as string[]) : [t as string];
}

class Compiler {
  private readonly refs = new Map<string, Check>();
  constructor(private readonly root: Node) {}

  resolve(ref: string): Node {
    if (!ref.startsWith("#/")) throw new Error(`only local $ref are supported, got ${ref}`);
    let node: unknown = this.root;
    for (const part of ref.slice(2).split("/")) node = (node as Node)[part];
    if (!isObject(node)) throw new Error(`$ref ${ref} does not point to a schema`);
    return node;
  }

  /** The value a schema wants, in words: `an integer >= 0 or null`. */
  expected(node: Node): string {
    if (typeof node["$ref"] === "string") return this.expected(this.resolve(node["$ref"]));
    if ("const" in node) return JSON.stringify(node["const"]);
    if (Array.isArray(node["enum"])) return `one of ${node["enum"].map((e) => JSON.stringify(e)).join(", ")}`;
    if ("type" in node) {
      const ts = types(node);
      let words = ts.filter((t) => t !== "null").map((t) => TYPE_WORDS[t]).join(" or ");
      if (typeof node["minimum"] === "number" && words) words += ` >= ${node["minimum"]}`;
      if (ts.includes("null")) words = words ? `${words} or null` : "null";
      return words;
    }
    return "a value";
  }

  ref(ref: string): Check {
    let check = this.refs.get(ref);
    if (!check) {
      const target: { check?: Check } = {};
      check = (v) => (target.check as Check)(v); // late bound: a $ref may be used before it is compiled
      this.refs.set(ref, check);
      target.check = this.compile(this.resolve(ref));
    }
    return check;
  }

  /** Whether a value matches (an `if`), without building error messages for those that do not. */
  predicate(node: Node): (v: unknown) => boolean {
    const props = node["properties"];
    if (Object.keys(node).length === 1 && isObject(props) && Object.keys(props).length === 1) {
      const [key, sub] = Object.entries(props)[0] as [string, unknown];
      if (isObject(sub) && Object.keys(sub).length === 1 && typeof sub["const"] === "string") {
        const c = sub["const"];
        return (v) => !isObject(v) || !Object.prototype.hasOwnProperty.call(v, key) || v[key] === c;
      }
    }
    const check = this.compile(node);
    return (v) => {
      try {
        check(v);
        return true;
      } catch (e) {
        if (e instanceof SchemaError) return false;
        throw e;
      }
    };
  }

  // One branch per keyword, in the order lifecycle/trace_schema.py checks them (the first error is the same).
  compile(schema: unknown): Check {
    if (schema === true || (isObject(schema) && Object.keys(schema).length === 0)) return () => undefined;
    if (!isObject(schema)) throw new Error(`unsupported schema ${JSON.stringify(schema)}`);
    const node = schema;
    const unknown = Object.keys(node).filter((k) => !IGNORED.has(k) && !KEYWORDS.has(k));
    if (unknown.length) throw new Error(`JSON Schema keywords ${unknown.sort().join(", ")} are not supported by trace-schema.ts`);
    const checks: Check[] = [];
    const expected = this.expected(node);
    const fail = (v: unknown): never => {
      throw new SchemaError(`expected ${expected}, got ${describe(v)}`);
    };

    if ("type" in node) {
      const tests = types(node).map((t) => {
        const test = TYPE_TESTS[t];
        if (!test) throw new Error(`unknown JSON Schema type ${t}`);
        return test;
      });
      const [first, second] = tests as [(v: unknown) => boolean, ((v: unknown) => boolean) | undefined];
      if (tests.length === 1) checks.push((v) => void (first(v) || fail(v)));
      else if (tests.length === 2 && second) checks.push((v) => void (first(v) || second(v) || fail(v)));
      else checks.push((v) => void (tests.some((t) => t(v)) || fail(v)));
    }
    if ("const" in node) {
      const c = node["const"];
      checks.push((v) => void (jsonEqual(v, c) || fail(v)));
    }
    if (Array.isArray(node["enum"])) {
      const options = node["enum"] as unknown[];
      checks.push((v) => void (options.some((o) => jsonEqual(v, o)) || fail(v)));
    }
    if (typeof node["minimum"] === "number") {
      const low = node["minimum"];
      checks.push((v) => void (!isNumber(v) || v >= low || fail(v)));
    }
    if (typeof node["maximum"] === "number") {
      const high = node["maximum"];
      checks.push((v) => {
        if (isNumber(v) && v > high) throw new SchemaError(`expected a number <= ${high}, got ${describe(v)}`);
      });
    }
    if (typeof node["minLength"] === "number") {
      const shortest = node["minLength"];
      checks.push((v) => {
        // A code point is one or two UTF-16 units: only a string shorter than twice the limit needs counting.
        if (typeof v === "string" && v.length < shortest * 2 && codePoints(v) < shortest) {
          throw new SchemaError(`expected a string of at least ${shortest} characters, got ${describe(v)}`);
        }
      });
    }
    if (typeof node["maxLength"] === "number") {
      const longest = node["maxLength"];
      checks.push((v) => {
        if (typeof v === "string" && v.length > longest && codePoints(v) > longest) {
          throw new SchemaError(`expected a string of at most ${longest} characters, got ${describe(v)}`);
        }
      });
    }
    if (typeof node["pattern"] === "string") {
      const source = node["pattern"];
      const regex = new RegExp(source, "u");
      checks.push((v) => {
        if (typeof v === "string" && !regex.test(v)) throw new SchemaError(`expected a string matching ${source}, got ${describe(v)}`);
      });
    }
    const props = isObject(node["properties"]) ? node["properties"] : {};
    if (Array.isArray(node["required"])) {
      const required = (node["required"] as string[]).map((key) => [key, this.expected(isObject(props[key]) ? props[key] : {})] as const);
      checks.push((v) => {
        if (!isObject(v)) return;
        for (const [key, wanted] of required) {
          if (!Object.prototype.hasOwnProperty.call(v, key)) throw new SchemaError(`expected ${wanted}, got nothing (missing)`).at(key);
        }
      });
    }
    if ("properties" in node) {
      const propChecks = Object.entries(props).map(([key, sub]) => [key, this.compile(sub)] as const);
      checks.push((v) => {
        if (!isObject(v)) return;
        for (const [key, check] of propChecks) {
          if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
          try {
            check(v[key]);
          } catch (e) {
            throw e instanceof SchemaError ? e.at(key) : e;
          }
        }
      });
    }
    if ("propertyNames" in node || "additionalProperties" in node) {
      const known = new Set(Object.keys(props));
      const names = "propertyNames" in node ? this.compile(node["propertyNames"]) : null;
      const extra = node["additionalProperties"] ?? true;
      const extraCheck = extra === false ? null : this.compile(extra);
      checks.push((v) => {
        if (!isObject(v)) return;
        for (const key of Object.keys(v)) {
          if (known.has(key)) continue;
          try {
            if (names) names(key);
            if (!extraCheck) throw new SchemaError("unexpected field");
            extraCheck(v[key]);
          } catch (e) {
            throw e instanceof SchemaError ? e.at(key) : e;
          }
        }
      });
    }
    if ("minItems" in node || "maxItems" in node) {
      const fewest = typeof node["minItems"] === "number" ? node["minItems"] : 0;
      const most = typeof node["maxItems"] === "number" ? node["maxItems"] : null;
      checks.push((v) => {
        if (Array.isArray(v) && v.length < fewest) throw new SchemaError(`expected at least ${fewest} items, got ${describe(v)}`);
        if (Array.isArray(v) && most !== null && v.length > most) throw new SchemaError(`expected at most ${most} items, got ${describe(v)}`);
      });
    }
    if ("prefixItems" in node || "items" in node) {
      const prefix = Array.isArray(node["prefixItems"]) ? node["prefixItems"].map((s) => this.compile(s)) : [];
      const rest = "items" in node ? this.compile(node["items"]) : null;
      checks.push((v) => {
        if (!Array.isArray(v)) return;
        for (let i = 0; i < v.length; i++) {
          const check = i < prefix.length ? prefix[i] : rest;
          if (!check) continue;
          try {
            check(v[i]);
          } catch (e) {
            throw e instanceof SchemaError ? e.at(i) : e;
          }
        }
      });
    }
    if (typeof node["$ref"] === "string") checks.push(this.ref(node["$ref"]));
    if (Array.isArray(node["allOf"])) for (const sub of node["allOf"]) checks.push(this.compile(sub));
    if ("if" in node) {
      const matches = this.predicate(node["if"] as Node);
      const then = this.compile(node["then"] ?? true);
      checks.push((v) => {
        if (matches(v)) then(v);
      });
    }

    if (checks.length === 1) return checks[0] as Check;
    return (v) => {
      for (const check of checks) check(v);
    };
  }
}

/** A function that throws SchemaError for a value the schema (or its part at `pointer`) refuses. */
export function compileSchema(schema: Node, pointer = "#"): Check {
  const compiler = new Compiler(schema);
  return compiler.compile(pointer === "#" ? schema : compiler.resolve(pointer));
}

const checkTraceSchema = compileSchema(TRACE_SCHEMA);
const checkFormat = compileSchema(TRACE_SCHEMA, "#/properties/format");
const checkVersion = compileSchema(TRACE_SCHEMA, "#/properties/version");

/** The schema alone (no span-tree rules): what the jsonschema package would say. */
export function checkSchema(v: unknown): void {
  checkTraceSchema(v);
}

/**
 * Throw SchemaError (with its field path) for anything that is not a valid version 1 trace. With
 * `maxSpans` (the dashboard's resource limit, not a validity rule), only the first spans are checked.
 */
export function validateTrace(v: unknown, maxSpans = Infinity): void {
  if (!isObject(v)) throw new SchemaError(`expected an object, got ${describe(v)}`);
  // Format and version first: a file of another kind or version is named as such, not by its first odd field.
  for (const [key, check] of [["format", checkFormat], ["version", checkVersion]] as const) {
    try {
      check(Object.prototype.hasOwnProperty.call(v, key) ? v[key] : undefined);
    } catch (e) {
      throw e instanceof SchemaError ? e.at(key) : e;
    }
  }
  const spans = v["spans"];
  const kept = Array.isArray(spans) && spans.length > maxSpans ? spans.slice(0, maxSpans) : spans;
  checkTraceSchema(kept === spans ? v : { ...v, spans: kept });
  checkTree(kept as { id: number; parent_id: number | null }[]);
}

/** The rules a schema cannot say: unique span ids, the first span the one root, parents listed first. */
export function checkTree(spans: readonly { id: number; parent_id: number | null }[]): void {
  // Span ids are small integers (0, 1, 2...): a bitmap finds them without a Set of 10,000 numbers.
  const bits = new Uint8Array(spans.length * 4 + 64);
  const big = new Set<number>();
  const seen = (id: number): boolean => (id < bits.length ? bits[id] === 1 : big.has(id));
  for (let i = 0; i < spans.length; i++) {
    const { id, parent_id: parent } = spans[i] as { id: number; parent_id: number | null };
    if (seen(id)) throw new SchemaError(`duplicate span id ${describe(id)}`).at("id").at(i).at("spans");
    if (i === 0) {
      if (parent !== null) {
        throw new SchemaError(`expected null (the first span is the root), got ${describe(parent)}`).at("parent_id").at(0).at("spans");
      }
    } else if (parent === null) {
      throw new SchemaError("expected the id of an earlier span, got null (only the first span is a root)").at("parent_id").at(i).at("spans");
    } else if (!seen(parent)) {
      throw new SchemaError(`parent ${describe(parent)} is not an earlier span`).at("parent_id").at(i).at("spans");
    }
    if (id < bits.length) bits[id] = 1;
    else big.add(id);
  }
}
