"""SQL fingerprints: the statement with literals, placeholders and list lengths normalized away.

Linear-time regular expressions over a length-capped text (a full SQL parser on a huge ``IN (...)``
list took a minute per page in debug-toolbar #1402), cached by SQL text. The same query gives the same
fingerprint on SQLite and PostgreSQL, whatever its literal values or the length of its IN lists.
"""

from __future__ import annotations

import hashlib
import re

MAX_SQL = 4000  # longest normalized text kept (after folding value lists)
MAX_INPUT = 2_000_000  # a hard stop for pathological statements; the expressions below are linear
_CACHE_SIZE = 4096

_STRING = re.compile(r"'(?:[^']|'')*'")
_PLACEHOLDER = re.compile(r"%\([^)]*\)s|%s|\$\d+|\?|(?<![:\w]):[A-Za-z_]\w*")
_NUMBER = re.compile(r"(?<![\w\"`.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b")
_BOOL_NULL = re.compile(r"\b(?:TRUE|FALSE)\b", re.IGNORECASE)
_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)*\s*\)")
_ROWS = re.compile(r"\(\.\.\.\)(?:\s*,\s*\(\.\.\.\))+")
_SPACE = re.compile(r"\s+")
# Savepoint names hold a thread id and a counter ("s140234_x1"): not part of the statement's shape.
_SAVEPOINT = re.compile(r"\b((?:RELEASE |ROLLBACK TO )?SAVEPOINT)\s+(?:\"[^\"]*\"|`[^`]*`|\w+)", re.IGNORECASE)
_TABLES = re.compile(r"\b(?:FROM|JOIN|UPDATE|INTO)\s+((?:\"[^\"]+\"|`[^`]+`|\w+)(?:\.(?:\"[^\"]+\"|\w+))?)",
                     re.IGNORECASE)

_fp_cache: dict[str, tuple[str, str]] = {}
_similar_cache: dict[str, str] = {}


def normalize(sql: str) -> str:
    """The statement with every literal and placeholder as ``?`` and every value list as ``(...)``.

    Lists are folded before the text is capped, so an ``IN`` list of any length gives the same result and
    what follows it is kept.
    """
    text = sql if len(sql) <= MAX_INPUT else sql[:MAX_INPUT]
    text = _SAVEPOINT.sub(r"\1 ?", text)
    text = _STRING.sub("?", text)
    text = _PLACEHOLDER.sub("?", text)
    text = _NUMBER.sub("?", text)
    text = _BOOL_NULL.sub("?", text)
    text = _LIST.sub("(...)", text)
    text = _ROWS.sub("(...)", text)
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= MAX_SQL else text[:MAX_SQL] + " …"


def fingerprint(sql: str) -> tuple[str, str]:
    """``(key, normalized)``: a 12-hex-digit key and the normalized text it stands for."""
    hit = _fp_cache.get(sql)
    if hit is not None:
        return hit
    norm = normalize(sql)
    result = (hashlib.blake2b(norm.encode(), digest_size=6).hexdigest(), norm)
    if len(_fp_cache) >= _CACHE_SIZE:
        _fp_cache.clear()
    _fp_cache[sql] = result
    return result


def similar_key(sql: str) -> str:
    """Statement verb and the tables it touches: queries alike but for their conditions or columns."""
    hit = _similar_cache.get(sql)
    if hit is not None:
        return hit
    head = sql[:MAX_SQL]
    verb = head.lstrip().split(None, 1)[0].upper() if head.strip() else ""
    tables = sorted({t.replace('"', "").replace("`", "") for t in _TABLES.findall(head)})
    key = f"{verb} {', '.join(tables)}".strip()
    if len(_similar_cache) >= _CACHE_SIZE:
        _similar_cache.clear()
    _similar_cache[sql] = key
    return key
