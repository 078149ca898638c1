"""SQL keys for replay comparisons, on top of :mod:`lifecycle.fingerprint`.

- :func:`portable_key`: a fingerprint that leaves out what the ORM writes differently on each database
  backend, used when a trace recorded on one backend is replayed on another.

Every expression here is applied once to a length-capped text: linear time.
"""

from __future__ import annotations

import hashlib
import re

# Spellings the ORM varies between backends, left out of the portable key. Each is a plain regular
# expression applied once to the (already length-capped) normalized text: linear time.
_CAST = re.compile(r"::\s*(?:\"[^\"]+\"|\w+)(?:\s*\([^)]*\))?(?:\[\])?")
_ESCAPE = re.compile(r"\s+ESCAPE\s+\?", re.IGNORECASE)
_FOR_UPDATE = re.compile(
    r"\s+FOR\s+(?:NO\s+KEY\s+)?UPDATE\b(?:\s+OF\s+[^)]*?)?(?:\s+NOWAIT|\s+SKIP\s+LOCKED)?", re.IGNORECASE
)
_GROUP_BY = re.compile(r"\bGROUP\s+BY\b", re.IGNORECASE)
_GROUP_END = re.compile(
    r"\b(?:HAVING|ORDER\s+BY|LIMIT|OFFSET|WINDOW|UNION|INTERSECT|EXCEPT|FOR)\b", re.IGNORECASE
)
_SPACE = re.compile(r"\s+")


def portable_text(normalized: str) -> str:
    """A normalized statement without the spellings that differ between database backends."""
    text = normalized.replace("`", '"')
    text = _CAST.sub("", text)
    text = _ESCAPE.sub("", text)
    text = _FOR_UPDATE.sub("", text)
    text = _collapse_group_by(text)
    return _SPACE.sub(" ", text).strip()


def portable_key(normalized: str) -> str:
    """12 hex-like characters, starting with "p" so that they are never mistaken for a fingerprint."""
    return "p" + hashlib.blake2b(portable_text(normalized).encode(), digest_size=6).hexdigest()[1:]


def _collapse_group_by(text: str) -> str:
    """``GROUP BY <list>`` becomes ``GROUP BY …``: PostgreSQL groups by the primary key where SQLite
    lists every selected column. The list ends at a keyword or a closing parenthesis at its own depth."""
    out: list[str] = []
    pos = 0
    for match in _GROUP_BY.finditer(text):
        if match.start() < pos:
            continue
        out.append(text[pos : match.end()])
        out.append(" …")
        depth = 0
        i = match.end()
        while i < len(text):
            ch = text[i]
            if ch == "(":
                depth += 1
            elif ch == ")":
                if depth == 0:
                    break
                depth -= 1
            elif ch == " " and depth == 0 and _GROUP_END.match(text, i + 1):
                break
            i += 1
        pos = i
    out.append(text[pos:])
    return "".join(out)
