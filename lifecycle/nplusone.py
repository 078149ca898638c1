"""The N+1 rule, in one place: the summary, the dashboard (through the summary), the debug-toolbar panel
and the replay checks all ask this module.

Queries are grouped by **request**, **fingerprint** and **call site**:

- the request: the nearest ``request`` span above the query. A ``lifecycle.record()`` block records several
  requests; the same query once in each of them is not an N+1.
- the call site: the innermost template line of the query (``attrs.template_stack[0]``: template and line)
  when it ran inside a template, else its innermost user Python frame (file and line). Every iteration of a
  loop, a ``{% for %}`` whose body includes a card template, an inclusion tag in a loop, a model property or
  a serializer called per object, nested loops, runs its query from the same line, whatever span is its
  parent (each include of a card template is a span of its own: "same parent" misses the commonest case).

A group is an **N+1** when it has at least ``N_PLUS_ONE_THRESHOLD`` queries and they do not all carry the
same parameters: ``book.author`` for each book of a list is an N+1 even when some books share their author.
The same statement with the same parameters over and over (``request.user`` looked up in a loop, a count
without parameters) is a *duplicate*: cache the value; it is counted in the duplicate groups and not
flagged. Parameters are compared as the trace shows them, except where they are redacted (the statement
matches ``REDACT_SQL_PATTERNS``, as every query on ``auth_user`` does): there the trace's ``params_id``
numbers tell one set of values from another (``params_key``). Transaction control (``SAVEPOINT``,
``COMMIT``...) is never an N+1.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from lifecycle.trace import Span

# Transaction control is never an N+1: a view with two atomic() blocks runs SAVEPOINT twice by design.
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK", "BEGIN", "COMMIT", "START TRANSACTION")

Site = tuple  # ("t", template, line) / ("p", file, line) / () when the query has neither


def is_transaction_control(sql: str) -> bool:
    return sql.lstrip().upper().startswith(TRANSACTION_CONTROL)


def site_of(attrs: dict[str, Any]) -> Site:
    """The call site of a query or cache call: its innermost template line, else its innermost user frame."""
    lines = attrs.get("template_stack")
    if lines and isinstance(lines, (list, tuple)):
        first = lines[0]
        if isinstance(first, dict):
            return ("t", first.get("file") or first.get("template"), first.get("line"))
    stack = attrs.get("stack")
    if stack and isinstance(stack, (list, tuple)):
        frame = stack[0]
        if isinstance(frame, (list, tuple)) and len(frame) >= 2:
            return ("p", frame[0], frame[1])
    return ()


def requests_of(spans: Iterable[Span]) -> dict[int, int]:
    """Span id -> id of the nearest ``request`` span at or above it, the root counting as one (a block's
    queries outside its requests share the root); parents come before children."""
    out: dict[int, int] = {}
    for span in spans:
        if span.kind == "request" or span.parent_id is None:
            out[span.id] = span.id
        else:
            out[span.id] = out.get(span.parent_id, -1)
    return out


class Group:
    """The queries of one request sharing a fingerprint (or another comparison key) and a call site."""

    __slots__ = ("key", "request", "site", "count", "total_ns", "span_ids", "params", "first")

    def __init__(self, key: Hashable, request: int, site: Site, first: Span) -> None:
        self.key = key
        self.request = request
        self.site = site
        self.count = 0
        self.total_ns = 0
        self.span_ids: list[int] = []
        self.params: set = set()
        self.first = first

    def flagged(self, threshold: int) -> bool:
        return self.count >= max(2, threshold) and len(self.params) >= 2


class Collector:
    """Collects queries as a trace's spans are read; ``add`` each one, then ask for the ``flagged`` groups."""

    def __init__(self) -> None:
        self.groups: dict[tuple, Group] = {}

    def add(self, span: Span, key: Hashable, request: int) -> None:
        self.add_key(span, key, request, params_key(span.attrs), site_of(span.attrs), span.duration_ns or 0)

    def group(self, span: Span, key: Hashable, request: int, site: Site) -> Group:
        """The group of a query of ``request`` with comparison ``key`` run from ``site`` (``span`` is the
        first one of a new group). The summary keeps it for the queries of one loop and counts them into
        it as ``add_key`` does."""
        k = (request, key, site)
        group = self.groups.get(k)
        if group is None:
            group = self.groups[k] = Group(key, request, site, span)
        return group

    def add_key(self, span: Span, key: Hashable, request: int, params: Hashable, site: Site, duration: int) -> None:
        """``add`` with the parameters already hashable and the site known."""
        group = self.group(span, key, request, site)
        group.count += 1
        group.total_ns += duration
        group.span_ids.append(span.id)
        group.params.add(params)

    def flagged(self, threshold: int) -> list[Group]:
        found = [g for g in self.groups.values() if g.flagged(threshold)]
        found.sort(key=lambda g: (-g.count, -g.total_ns))
        return found


def find(spans: Sequence[Span], key_of, threshold: int) -> list[Group]:
    """The N+1 groups of ``spans``; ``key_of(span)`` gives a query's key (None: not a query to judge)."""
    requests = requests_of(spans)
    collector = Collector()
    for span in spans:
        if span.kind != "sql":
            continue
        key = key_of(span)
        if key is None:
            continue
        collector.add(span, key, requests.get(span.id, -1))
    return collector.flagged(threshold)


def params_key(attrs: dict[str, Any]) -> Hashable:
    """What tells a query's parameters from another's: the parameters the trace shows, or where they are
    redacted, the number the trace gives their values (``params_id``: the same number for the same values)."""
    params_id = attrs.get("params_id")
    if params_id is not None:
        return ("params_id", params_id)
    params = attrs.get("params")
    if not params:
        return ()  # none shown, whether the list is empty or missing
    try:
        key = tuple(params)
        hash(key)
    except TypeError:
        return hashable(params)
    return key


def hashable(value: Any) -> Hashable:
    if isinstance(value, (list, tuple)):
        return tuple(hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), hashable(v)) for k, v in value.items()))
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


# -- the call chain, as text ---------------------------------------------------------------------------

_SOURCE = 80


def chain(attrs: dict[str, Any]) -> list[str]:
    """Where a query ran, innermost first: its template lines (``shop/_card.html:7 `{{ card.image.url }}```),
    then its user Python frames (``demo_site/shop/views.py:45 book_list``)."""
    out: list[str] = []
    for entry in attrs.get("template_stack") or ():
        if not isinstance(entry, dict):
            continue
        name = entry.get("template") or entry.get("file") or "?"
        source = str(entry.get("source") or "")
        if len(source) > _SOURCE:
            source = source[: _SOURCE - 1] + "…"
        out.append(f"{name}:{entry.get('line')}" + (f" `{source}`" if source else ""))
    for frame in _frames(attrs.get("stack")):
        out.append(f"{frame[0]}:{frame[1]} {frame[2]}")
    return out


def chain_text(attrs: dict[str, Any]) -> str:
    """``chain`` joined with " in "; empty when the query has neither template lines nor user frames."""
    return " in ".join(chain(attrs))


def _frames(stack: Any) -> list[tuple[str, int, str]]:
    """User frames; a comprehension or lambda is named after the function around it (Python 3.12 inlines
    comprehensions: the same line reads ``books`` there and ``<listcomp>`` before)."""
    try:
        frames = [(str(f[0]), int(f[1]), str(f[2])) for f in stack]
    except (TypeError, ValueError, IndexError):
        return []
    out = []
    skip = False
    for i, (file, line, func) in enumerate(frames):
        if skip:
            skip = False
            continue
        if func.startswith("<") and i + 1 < len(frames) and frames[i + 1][0] == file:
            func = frames[i + 1][2]
            skip = frames[i + 1][1] == line  # the enclosing frame says nothing more
        out.append((file, line, func))
    return out
