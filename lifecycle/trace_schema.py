"""What a valid trace file is: ``lifecycle/schema/trace-v1.json``, applied, plus the rules a schema cannot say.

The JSON Schema is the one definition. This module is a small interpreter of the part of JSON Schema
(draft 2020-12) that the schema uses, so reading a trace needs no dependency; ``frontend/src/lib/
trace-schema.ts`` is the same interpreter in TypeScript, and ``tests/test_trace_corpus.py`` runs both, and
the ``jsonschema`` package, over one corpus of good and bad files. A keyword outside the subset makes
``compile_schema`` fail, so a schema that grows one fails the tests rather than being half-checked.

Patterns follow JSON Schema (ECMA-262) rather than Python's ``re``: ``\\d`` is ASCII only and ``$`` is the
end of the string (Python's ``$`` also matches before a final newline; the dashboard's would not).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).parent / "schema" / "trace-v1.json"

Check = Callable[[Any], None]

_MISSING = object()

_IGNORED = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description"})
_TYPE_WORDS = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
               "object": "an object", "array": "an array", "null": "null"}


class Invalid(ValueError):
    """A value does not match: ``path`` (keys and indexes from the document's root) and what was wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self._reversed_path: list[str | int] = []

    @property
    def path(self) -> str:
        return format_path(reversed(self._reversed_path))

    def at(self, key: str | int) -> Invalid:
        self._reversed_path.append(key)
        return self


def format_path(keys: Any) -> str:
    """``spans[3].start_ns``: the field path as both readers write it."""
    out = ""
    for key in keys:
        out = f"{out}[{key}]" if isinstance(key, int) else f"{out}.{key}" if out else key
    return out


def describe(value: Any) -> str:
    """What came instead, in a few words (``"abc"``, ``-5``, ``an array of 3``), as the dashboard says it."""
    if value is _MISSING:
        return "nothing (missing)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 40 else value[:40] + "…", ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, list):
        return f"an array of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _is_number(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and math.isfinite(v))


def _is_integer(v: Any) -> bool:
    # JSON Schema: a number with no fractional part (1.0 too: JavaScript cannot tell them apart).
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())


_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": _is_integer,
    "number": _is_number,
}


def _type_test(types: list[str]) -> Callable[[Any], bool]:
    tests = [_TYPE_TESTS[t] for t in types]
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda v: first(v) or second(v)
    return lambda v: any(test(v) for test in tests)


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def _ecma_pattern(pattern: str) -> re.Pattern[str]:
    # A final unescaped "$" means the end of the string, as in JavaScript: Python's also matches before "\n".
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern, re.ASCII)


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def resolve(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref are supported, got {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    def expected(self, schema: dict[str, Any]) -> str:
        """The value a schema wants, in words: ``an integer >= 0 or null``."""
        if "$ref" in schema:
            return self.expected(self.resolve(schema["$ref"]))
        if "const" in schema:
            return json.dumps(schema["const"])
        if "enum" in schema:
            return "one of " + ", ".join(json.dumps(e) for e in schema["enum"])
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            words = " or ".join(_TYPE_WORDS[t] for t in types if t != "null")
            if "minimum" in schema and words:
                words += f" >= {schema['minimum']}"
            if "null" in types:
                words = f"{words} or null" if words else "null"
            return words
        return "a value"

    def ref(self, ref: str) -> Check:
        if ref not in self.refs:
            target: list[Check] = []
            self.refs[ref] = lambda v: target[0](v)  # late bound: a $ref may be used before it is compiled
            target.append(self.compile(self.resolve(ref)))
        return self.refs[ref]

    def predicate(self, schema: dict[str, Any]) -> Callable[[Any], bool]:
        """Whether a value matches (an ``if``), without building error messages for the values that do not."""
        props = schema.get("properties", {})
        if set(schema) == {"properties"} and len(props) == 1:
            ((key, sub),) = props.items()
            if set(sub) == {"const"} and isinstance(sub["const"], str):  # {"properties": {"kind": {"const": "sql"}}}
                const = sub["const"]
                return lambda v: not isinstance(v, dict) or key not in v or v[key] == const
        check = self.compile(schema)

        def matches(v: Any) -> bool:
            try:
                check(v)
            except Invalid:
                return False
            return True
        return matches

    def compile(self, schema: Any) -> Check:
        # One branch per keyword, in the order trace-schema.ts checks them (the first error is the same).
        if schema is True or schema == {}:
            return lambda v: None
        if not isinstance(schema, dict):
            raise ValueError(f"unsupported schema {schema!r}")
        unknown = set(schema) - _IGNORED - _KEYWORDS
        if unknown:
            raise ValueError(f"JSON Schema keywords {sorted(unknown)} are not supported by lifecycle.trace_schema")
        checks: list[Check] = []
        expected = self.expected(schema)

        if "type" in schema:
            is_type = _type_test(schema["type"] if isinstance(schema["type"], list) else [schema["type"]])

            def check_type(v: Any) -> None:
                if not is_type(v):
                    raise Invalid(f"expected {expected}, got {describe(v)}")
            checks.append(check_type)
        if "const" in schema:
            const = schema["const"]

            def check_const(v: Any) -> None:
                if not _json_equal(v, const):
                    raise Invalid(f"expected {expected}, got {describe(v)}")
            checks.append(check_const)
        if "enum" in schema:
            options = schema["enum"]

            def check_enum(v: Any) -> None:
                if not any(_json_equal(v, o) for o in options):
                    raise Invalid(f"expected {expected}, got {describe(v)}")
            checks.append(check_enum)
        if "minimum" in schema:
            low = schema["minimum"]

            def check_minimum(v: Any) -> None:
                if _is_number(v) and v < low:
                    raise Invalid(f"expected {expected}, got {describe(v)}")
            checks.append(check_minimum)
        if "maximum" in schema:
            high = schema["maximum"]

            def check_maximum(v: Any) -> None:
                if _is_number(v) and v > high:
                    raise Invalid(f"expected a number <= {high}, got {describe(v)}")
            checks.append(check_maximum)
        if "minLength" in schema:
            shortest = schema["minLength"]

            def check_min_length(v: Any) -> None:
                if isinstance(v, str) and len(v) < shortest:
                    raise Invalid(f"expected a string of at least {shortest} characters, got {describe(v)}")
            checks.append(check_min_length)
        if "maxLength" in schema:
            longest = schema["maxLength"]

            def check_max_length(v: Any) -> None:
                if isinstance(v, str) and len(v) > longest:
                    raise Invalid(f"expected a string of at most {longest} characters, got {describe(v)}")
            checks.append(check_max_length)
        if "pattern" in schema:
            source = schema["pattern"]
            regex = _ecma_pattern(source)

            def check_pattern(v: Any) -> None:
                if isinstance(v, str) and not regex.search(v):
                    raise Invalid(f"expected a string matching {source}, got {describe(v)}")
            checks.append(check_pattern)
        if "required" in schema:
            props = schema.get("properties", {})
            required = [(key, self.expected(props.get(key, {}))) for key in schema["required"]]

            def check_required(v: Any) -> None:
                if isinstance(v, dict):
                    for key, wanted in required:
                        if key not in v:
                            raise Invalid(f"expected {wanted}, got nothing (missing)").at(key)
            checks.append(check_required)
        if "properties" in schema:
            props_checks = [(key, self.compile(sub)) for key, sub in schema["properties"].items()]

            def check_properties(v: Any) -> None:
                if isinstance(v, dict):
                    for key, check in props_checks:
                        if key in v:
                            try:
                                check(v[key])
                            except Invalid as exc:
                                raise exc.at(key) from None
            checks.append(check_properties)
        if "propertyNames" in schema or "additionalProperties" in schema:
            known = set(schema.get("properties", ()))
            names = self.compile(schema["propertyNames"]) if "propertyNames" in schema else None
            extra = schema.get("additionalProperties", True)
            extra_check = None if extra is False else self.compile(extra)

            def check_additional(v: Any) -> None:
                if isinstance(v, dict):
                    for key, value in v.items():
                        if key in known:
                            continue
                        try:
                            if names is not None:
                                names(key)
                            if extra_check is None:
                                raise Invalid("unexpected field")
                            extra_check(value)
                        except Invalid as exc:
                            raise exc.at(key) from None
            checks.append(check_additional)
        if "minItems" in schema or "maxItems" in schema:
            fewest, most = schema.get("minItems", 0), schema.get("maxItems")

            def check_count(v: Any) -> None:
                if isinstance(v, list) and len(v) < fewest:
                    raise Invalid(f"expected at least {fewest} items, got {describe(v)}")
                if isinstance(v, list) and most is not None and len(v) > most:
                    raise Invalid(f"expected at most {most} items, got {describe(v)}")
            checks.append(check_count)
        if "prefixItems" in schema or "items" in schema:
            prefix = [self.compile(sub) for sub in schema.get("prefixItems", ())]
            rest = self.compile(schema["items"]) if "items" in schema else None

            def check_items(v: Any) -> None:
                if isinstance(v, list):
                    for i, item in enumerate(v):
                        check = prefix[i] if i < len(prefix) else rest
                        if check is not None:
                            try:
                                check(item)
                            except Invalid as exc:
                                raise exc.at(i) from None
            checks.append(check_items)
        if "$ref" in schema:
            checks.append(self.ref(schema["$ref"]))
        for sub in schema.get("allOf", ()):
            checks.append(self.compile(sub))
        if "if" in schema:
            matches = self.predicate(schema["if"])
            then = self.compile(schema.get("then", True))

            def check_if(v: Any) -> None:
                if matches(v):
                    then(v)
            checks.append(check_if)

        if len(checks) == 1:
            return checks[0]

        def check_all(v: Any) -> None:
            for check in checks:
                check(v)
        return check_all


_KEYWORDS = frozenset({"type", "const", "enum", "minimum", "maximum", "minLength", "maxLength", "pattern",
                       "required", "properties", "propertyNames", "additionalProperties", "minItems", "maxItems",
                       "prefixItems", "items", "$ref", "allOf", "if", "then"})


def compile_schema(schema: dict[str, Any], pointer: str = "#") -> Check:
    """A function that raises ``Invalid`` for a value the schema (or its part at ``pointer``) refuses."""
    compiler = _Compiler(schema)
    return compiler.compile(schema if pointer == "#" else compiler.resolve(pointer))


SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
_check_trace = compile_schema(SCHEMA)
_check_format = compile_schema(SCHEMA, "#/properties/format")
_check_version = compile_schema(SCHEMA, "#/properties/version")


def validate(obj: Any) -> None:
    """Raise ``Invalid`` (with its field path) for anything that is not a valid version 1 trace."""
    if not isinstance(obj, dict):
        raise Invalid(f"expected an object, got {describe(obj)}")
    # Format and version first: a file of another kind or version is named as such, not by its first odd field.
    for key, check in (("format", _check_format), ("version", _check_version)):
        try:
            check(obj.get(key, _MISSING))
        except Invalid as exc:
            raise exc.at(key) from None
    _check_trace(obj)
    check_tree(obj["spans"])


def check_tree(spans: list[dict[str, Any]]) -> None:
    """The rules a schema cannot say: unique span ids, the first span the one root, parents listed first."""
    seen: set[int] = set()
    for i, span in enumerate(spans):
        span_id, parent = span["id"], span["parent_id"]
        if span_id in seen:
            raise Invalid(f"duplicate span id {describe(span_id)}").at("id").at(i).at("spans")
        if i == 0:
            if parent is not None:
                raise Invalid(f"expected null (the first span is the root), got {describe(parent)}").at(
                    "parent_id").at(0).at("spans")
        elif parent is None:
            raise Invalid("expected the id of an earlier span, got null (only the first span is a root)").at(
                "parent_id").at(i).at("spans")
        elif parent not in seen:
            raise Invalid(f"parent {describe(parent)} is not an earlier span").at("parent_id").at(i).at("spans")
        seen.add(span_id)
