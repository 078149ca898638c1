/// <reference types="node" />
// The TypeScript mirror of the trace format must name the same fields as the JSON Schema: a property added
// to lifecycle/schema/trace-v1.json and not to trace-format.ts (or the other way round) fails here.

import { readFileSync } from "node:fs";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { TRACE_SCHEMA } from "./trace-schema";

type Node = Record<string, unknown>;

function at(pointer: string): Node {
  let node: unknown = TRACE_SCHEMA;
  for (const part of pointer.split("/").slice(1)) node = (node as Record<string, unknown>)[part];
  const ref = (node as Node)["$ref"];
  return typeof ref === "string" ? at(ref) : (node as Node);
}

/** Each interface of trace-format.ts and the schema object it mirrors. */
const MIRRORS: Record<string, string> = {
  Trace: "#",
  RequestInfo: "#/properties/request",
  ResponseInfo: "#/properties/response",
  ResolverInfo: "#/properties/resolver",
  Span: "#/$defs/span",
  Summary: "#/properties/summary",
  DuplicateGroup: "#/$defs/duplicate_group",
  CallSite: "#/$defs/duplicate_group/properties/sites/items",
  NPlusOneGroup: "#/$defs/n_plus_one_group",
  SimilarGroup: "#/$defs/similar_group",
  TemplateLine: "#/$defs/template_stack/items",
  KindStyle: "#/$defs/kind_style",
  SqlAttrs: "#/$defs/span/allOf/0/then/properties/attrs",
  TemplateAttrs: "#/$defs/span/allOf/1/then/properties/attrs",
  CacheAttrs: "#/$defs/span/allOf/2/then/properties/attrs",
};
/** Fields of the dashboard's model that no file has. */
const DASHBOARD_ONLY: Record<string, string[]> = { Trace: ["cut"] };

function interfaces(): Map<string, string[]> {
  const path = new URL("./trace-format.ts", import.meta.url);
  const source = ts.createSourceFile("trace-format.ts", readFileSync(path, "utf-8"), ts.ScriptTarget.ES2022, true);
  const out = new Map<string, string[]>();
  for (const stmt of source.statements) {
    if (!ts.isInterfaceDeclaration(stmt)) continue;
    out.set(
      stmt.name.text,
      stmt.members.flatMap((m) => (ts.isPropertySignature(m) && m.name && ts.isIdentifier(m.name) ? [m.name.text] : [])),
    );
  }
  return out;
}

describe("trace-format.ts", () => {
  const found = interfaces();
  it.each(Object.entries(MIRRORS))("%s has the properties of the schema's %s", (name, pointer) => {
    const props = Object.keys((at(pointer)["properties"] ?? {}) as Node).sort();
    const mine = (found.get(name) ?? []).filter((p) => !(DASHBOARD_ONLY[name] ?? []).includes(p)).sort();
    expect(mine, `${name} in trace-format.ts vs ${pointer} in trace-v1.json`).toEqual(props);
  });

  it("mirrors every object of the schema that has properties", () => {
    const objects: string[] = [];
    const walk = (node: unknown, pointer: string): void => {
      if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${pointer}/${i}`));
      else if (node && typeof node === "object") {
        const n = node as Node;
        if (n["properties"] && Object.keys(n["properties"] as Node).length > 1 && !pointer.endsWith("/if")) objects.push(pointer);
        for (const [k, v] of Object.entries(n)) walk(v, `${pointer}/${k}`);
      }
    };
    walk(TRACE_SCHEMA, "#");
    const mirrored = new Set(Object.values(MIRRORS));
    expect(objects.filter((p) => !mirrored.has(p) && !IGNORED_OBJECTS.includes(p))).toEqual([]);
  });
});

/** Schema objects the TypeScript model keeps as a plain record or inline type (see trace-format.ts). */
const IGNORED_OBJECTS = ["#/properties/request/properties/user", "#/properties/dropped", "#/$defs/span/allOf/3/then/properties/attrs"];
