"""One registry of span kinds: the docs describe what it holds."""

from __future__ import annotations

import re
from pathlib import Path

from lifecycle import kinds

ROOT = Path(__file__).resolve().parents[1]


def _table_kinds(text: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^\| `?([a-z_]+)`?[ |]", text, re.M)}


def test_every_built_in_kind_is_in_the_docs_tables():
    builtin = {k.name for k in kinds.BUILTIN}
    assert builtin - _table_kinds((ROOT / "docs" / "trace-format.md").read_text()) == set()
    assert builtin - _table_kinds((ROOT / "README.md").read_text()) == set()


def test_descriptions_are_what_traces_and_the_hello_carry():
    assert kinds.describe(["sql", "nobody-registered-this"]) == {
        "sql": {"label": "SQL", "symbol": "Q", "color": "#e69f00"}}
    assert set(kinds.describe()) >= {k.name for k in kinds.BUILTIN}
    # Registering the same description again is harmless; unregistering a built-in kind does nothing.
    kinds.register(kinds.get("sql"))
    kinds.unregister("sql")
    assert kinds.get("sql").label == "SQL"
