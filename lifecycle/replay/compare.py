"""Comparing a recorded trace with a replayed one: what each check looks at, and the failure message.

A trace is first reduced to a :class:`Profile`: the requests it made (method, path, status), where each
was resolved (view, url name), the set of templates rendered, and its SQL grouped by fingerprint with the
call chains that issued each group (template lines, then user frames: ``lifecycle.nplusone.chain``) and
the groups that are N+1 by the one rule of :mod:`lifecycle.nplusone`. Two profiles are then compared
check by check (``CHECKS``).

Fingerprints are recomputed from each span's SQL text with :func:`lifecycle.fingerprint.fingerprint`
rather than read from ``attrs.fp``, so a trace recorded by an older version still compares correctly.
When the two traces come from different database backends (``attrs.vendor``: a trace saved from a
PostgreSQL site, replayed on SQLite), the ORM writes some statements differently (PostgreSQL groups by
the primary key only, casts with ``::``, SQLite adds ``ESCAPE``), so queries are then matched by a
*portable* key that leaves those spellings out (``lifecycle.replay.sql``); the message says so.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lifecycle import nplusone, redact
from lifecycle.fingerprint import fingerprint
from lifecycle.replay.sql import portable_key
from lifecycle.trace import Trace

# Every check, in the order failures are reported; True: on unless switched off.
CHECKS: dict[str, bool] = {
    "view": True,  # each request resolves to the same view and url name
    "status": True,  # each request answers the same status code
    "templates": True,  # the same set of templates is rendered
    "new_queries": True,  # no SQL fingerprint that the recording never ran
    "more_queries": True,  # no fingerprint runs more often than recorded (a new N+1 fails here)
    "duplicates": True,  # no new group of repeated queries (same fingerprint twice or more in one request)
    # Fewer queries than recorded: an improvement to re-record (reported first), or missing test data.
    "fewer_queries": True,
    "query_count": False,  # exactly as many queries in total as recorded
    "timing": False,  # the duration stays within the recorded one plus a tolerance, or a budget
}

@dataclass
class QueryGroup:
    """The queries of one trace sharing a comparison key."""

    key: str
    fp: str
    text: str
    count: int = 0
    # Call chain ("shop/_card.html:7 `{{ card.image.url }}` in shop/views.py:45 book_list") -> count.
    sites: Counter[str] = field(default_factory=Counter)
    most_in_one_request: int = 0
    n_plus_one: bool = False  # some request ran it as an N+1 (lifecycle.nplusone)
    most_from_one_site: int = 0  # the most queries one call site ran in one request

    def where(self, limit: int = 3) -> str:
        known = [(chain, n) for chain, n in self.sites.most_common() if chain]
        if not known:
            return "issued outside user code (no user frame recorded)"
        parts = [chain + (f" ({n}x)" if len(self.sites) > 1 else "") for chain, n in known[:limit]]
        more = len(known) - limit
        return "issued from " + ", ".join(parts) + (f" and {more} more places" if more > 0 else "")


@dataclass
class Profile:
    requests: list[tuple[str | None, str | None, int | None]]
    resolutions: list[tuple[str | None, str | None]]
    templates: set[str]
    queries: dict[str, QueryGroup]
    total_queries: int
    duration_ns: int | None
    vendors: set[str]
    dropped: int
    error: str | None
    n_plus_one_threshold: int = 3
    # (op, key) -> [hits, misses] of the cache reads that say hit or miss
    cache_reads: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    location: str | None = None  # the Location header of a one-request trace's redirect
    user: str | None = None  # the username the request ran as, when the site loaded the user


@dataclass
class Failure:
    check: str
    headline: str
    lines: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # query groups to show under "Queries involved"


@dataclass
class Comparison:
    failures: list[Failure]
    recorded: Profile
    actual: Profile
    portable: bool
    notes: list[str]
    # What the replay suspects when the difference looks like missing test data rather than code: an empty
    # database, a missing login, a cold or warm cache (shown first in the message).
    suspects: list[str] = field(default_factory=list)
    # The failures that are an improvement only (fewer queries, nothing worse): ``improvements="warn"``
    # passes them with a notice.
    improved: bool = False

    @property
    def ok(self) -> bool:
        return not self.failures


# -- profiles ------------------------------------------------------------------------------------------


def vendors(trace: Trace) -> set[str]:
    return {str(s.attrs.get("vendor")) for s in trace.spans if s.kind == "sql" and s.attrs.get("vendor")}


def profile(
    trace: Trace,
    *,
    portable: bool = False,
    ignore_sql: Iterable[re.Pattern[str]] = (),
    n_plus_one_threshold: int = 3,
) -> Profile:
    ignore = tuple(ignore_sql)
    nested = [s for s in trace.spans if s.kind == "request" and s.parent_id is not None]
    if nested:
        requests = [(s.attrs.get("method"), s.attrs.get("path"), s.attrs.get("status")) for s in nested]
    elif trace.spans and trace.spans[0].kind == "block":
        requests = []
    else:
        requests = [(trace.request.get("method"), trace.request.get("path"), trace.status)]

    resolutions: list[tuple[str | None, str | None]] = []
    templates: set[str] = set()
    queries: dict[str, QueryGroup] = {}
    total = 0
    request_of = nplusone.requests_of(trace.spans)
    loops = nplusone.Collector()
    per_request: Counter[tuple[int, str]] = Counter()
    per_site: Counter[tuple[int, str, Any]] = Counter()
    cache_reads: dict[tuple[str, str], list[int]] = {}
    for span in trace.spans:
        attrs = span.attrs
        if span.kind == "cache":
            hit = attrs.get("hit")
            if hit is True or hit is False:
                counts = cache_reads.setdefault((str(attrs.get("op")), str(attrs.get("key"))), [0, 0])
                counts[0 if hit else 1] += 1
        elif span.kind == "resolve":
            if attrs.get("error"):
                resolutions.append((None, f"<{attrs['error']}>"))
            else:
                resolutions.append((attrs.get("view"), _url_name(attrs)))
        elif span.kind == "template":
            templates.add(str(attrs.get("template") or span.name))
        elif span.kind == "sql":
            sql = attrs.get("sql")
            if isinstance(sql, str):
                if any(p.search(sql) for p in ignore):
                    continue
                fp, text = fingerprint(sql)
            else:
                fp, text = str(attrs.get("fp") or "?"), span.name
            key = portable_key(text) if portable else fp
            group = queries.get(key)
            if group is None:
                group = queries[key] = QueryGroup(key, fp, text)
            group.count += 1
            group.sites[nplusone.chain_text(attrs)] += 1
            request = request_of.get(span.id, -1)
            per_request[request, key] += 1
            per_site[request, key, nplusone.site_of(attrs)] += 1
            if not nplusone.is_transaction_control(text):
                loops.add(span, key, request)
            total += 1
    for (_, key), n in per_request.items():
        queries[key].most_in_one_request = max(queries[key].most_in_one_request, n)
    for (_, key, _site), n in per_site.items():
        queries[key].most_from_one_site = max(queries[key].most_from_one_site, n)
    for flagged in loops.flagged(n_plus_one_threshold):
        queries[str(flagged.key)].n_plus_one = True
    if not resolutions and trace.resolver:
        resolutions.append((trace.resolver.get("view"), _url_name(trace.resolver)))
    return Profile(
        requests=requests,
        resolutions=resolutions,
        templates=templates,
        queries=queries,
        total_queries=total,
        duration_ns=trace.duration_ns,
        vendors=vendors(trace),
        dropped=int((trace.dropped or {}).get("spans") or 0),
        error=(trace.summary or {}).get("error"),
        n_plus_one_threshold=n_plus_one_threshold,
        cache_reads=cache_reads,
        location=_location(trace) if not nested else None,
        user=_username(trace),
    )


def _location(trace: Trace) -> str | None:
    headers = (trace.response or {}).get("headers") or {}
    if not isinstance(headers, dict):
        return None
    for name, value in headers.items():
        if str(name).lower() == "location" and isinstance(value, str):
            return value
    return None


def _username(trace: Trace) -> str | None:
    user = (trace.request or {}).get("user")
    if isinstance(user, dict) and user.get("username"):
        return str(user["username"])
    return None


def _url_name(attrs: dict[str, Any]) -> str | None:
    name = attrs.get("url_name")
    namespace = attrs.get("namespace")
    return f"{namespace}:{name}" if name and namespace else name


# -- comparing -----------------------------------------------------------------------------------------


def compare(
    recorded: Trace,
    actual: Trace,
    *,
    checks: dict[str, bool],
    ignore_sql: Iterable[re.Pattern[str]] = (),
    time_tolerance: float = 1.0,
    time_slack_ms: float = 10.0,
    time_budget_ms: float | None = None,
    n_plus_one_threshold: int = 3,
) -> Comparison:
    ignore = tuple(ignore_sql)
    old_vendors, new_vendors = vendors(recorded), vendors(actual)
    portable = bool(old_vendors and new_vendors and old_vendors != new_vendors)
    old = profile(recorded, portable=portable, ignore_sql=ignore, n_plus_one_threshold=n_plus_one_threshold)
    new = profile(actual, portable=portable, ignore_sql=ignore, n_plus_one_threshold=n_plus_one_threshold)
    notes: list[str] = []
    if portable:
        notes.append(
            f"recorded on {'/'.join(sorted(old_vendors))}, replayed on {'/'.join(sorted(new_vendors))}: "
            "queries are matched by their portable shape "
            "(GROUP BY lists, :: casts, ESCAPE, FOR UPDATE and quoting ignored)"
        )
    if old.dropped:
        notes.append(f"the recording dropped {old.dropped} spans (MAX_SPANS): its counts are incomplete")
    if new.dropped:
        notes.append(f"the replay dropped {new.dropped} spans (MAX_SPANS): raise LIFECYCLE['MAX_SPANS']")

    failures: list[Failure] = []
    if checks.get("view") and old.resolutions != new.resolutions:
        failures.append(
            Failure(
                "view",
                "resolves to another view or url name",
                [
                    f"recorded: {_resolutions(old.resolutions)}",
                    f"now:      {_resolutions(new.resolutions)}",
                ],
            )
        )
    if checks.get("status"):
        old_status = [r[2] for r in old.requests]
        new_status = [r[2] for r in new.requests]
        if old_status != new_status:
            lines = [f"recorded: {_statuses(old.requests)}", f"now:      {_statuses(new.requests)}"]
            if new.error and new.error != old.error:
                lines.append(f"error now: {redact.text(new.error)}")
            failures.append(Failure("status", "another response status", lines))
    if checks.get("templates") and old.templates != new.templates:
        added, removed = sorted(new.templates - old.templates), sorted(old.templates - new.templates)
        lines = []
        if added:
            lines.append("now rendered, not in the recording: " + ", ".join(added))
        if removed:
            lines.append("in the recording, no longer rendered: " + ", ".join(removed))
        failures.append(Failure("templates", "the set of rendered templates changed", lines))

    new_keys = [k for k in new.queries if k not in old.queries]
    if checks.get("new_queries") and new_keys:
        failures.append(
            Failure(
                "new_queries",
                f"{_n(len(new_keys), 'query fingerprint')} that the recording never ran",
                [f"{_label(new.queries[k])}  {_times(new.queries[k].count)}" for k in new_keys],
                new_keys,
            )
        )
    grown = [k for k, g in new.queries.items() if k in old.queries and g.count > old.queries[k].count]
    if checks.get("more_queries") and grown:
        failures.append(
            Failure(
                "more_queries",
                f"{_n(len(grown), 'query fingerprint')} ran more often than recorded "
                f"({_n(old.total_queries, 'query', 'queries')} recorded, {new.total_queries} now)",
                [line for k in grown for line in _grown(old.queries[k], new.queries[k])],
                grown,
            )
        )
    # Repeated within one request: a block running a query once in each of its requests repeats nothing.
    # A group that repeated already is reported again when it has become an N+1 (the dashboard's rule).
    repeated = [
        k
        for k, g in new.queries.items()
        if g.most_in_one_request >= 2 and (k not in old.queries or old.queries[k].most_in_one_request < 2)
    ]
    became = [k for k, g in new.queries.items() if g.n_plus_one and k not in repeated
              and k in old.queries and not old.queries[k].n_plus_one]
    if checks.get("duplicates") and (repeated or became):
        headline = (f"{_n(len(repeated), 'new group')} of repeated queries" if repeated else "")
        if became:
            headline += (", and " if headline else "") + f"{_n(len(became), 'repeated group')} now an N+1"
        failures.append(
            Failure(
                "duplicates",
                headline + " (same fingerprint run again: an N+1 suspect)",
                [_repeated(new.queries[k], n_plus_one_threshold) for k in repeated]
                + [f"{_repeated(new.queries[k], n_plus_one_threshold)}; recorded "
                   f"{_times(old.queries[k].count)}, not an N+1" for k in became],
                repeated + became,
            )
        )
    suspects = _suspects(old, new, new_keys)
    fewer = new.total_queries < old.total_queries
    clean = fewer and not suspects and not grown and not repeated and not became
    if clean:
        # The new fingerprints replaced the old ones (a JOIN, a prefetch): part of the improvement.
        failures = [f for f in failures if f.check != "new_queries"]
    if checks.get("fewer_queries") and fewer:
        failures.insert(0, _fewer(old, new, new_keys, clean))
    if checks.get("query_count") and old.total_queries != new.total_queries:
        failures.append(
            Failure(
                "query_count",
                f"{_n(new.total_queries, 'query', 'queries')}, the recording ran {old.total_queries}",
                [],
            )
        )
    if checks.get("timing") and new.duration_ns is not None:
        failure = _timing(old.duration_ns, new.duration_ns, time_tolerance, time_slack_ms, time_budget_ms)
        if failure is not None:
            failures.append(failure)
    improved = clean and bool(failures) and all(f.check == "fewer_queries" for f in failures)
    return Comparison(failures, old, new, portable, notes, suspects if failures else [], improved)


def _fewer(old: Profile, new: Profile, new_keys: list[str], clean: bool) -> Failure:
    """Fewer queries than recorded: what is gone (with its old call sites), what replaced it."""
    if clean:
        headline = (f"improved: {old.total_queries} -> {new.total_queries} queries; re-record with "
                    "--lifecycle-record=all to keep the gain (until then a return to the old count passes)")
    else:
        headline = (f"{old.total_queries} -> {new.total_queries} queries, but this looks like missing test "
                    "data, not an improvement (see Suspected above)")
    lines = []
    for key, group in old.queries.items():
        now = new.queries.get(key)
        if now is None or now.count < group.count:
            state = "gone" if now is None else f"{group.count} -> {now.count} times"
            lines.append(f"{state}: {_label(group)}  {'' if now else _times(group.count) + '  '}"
                         f"{_clip(group.text, 120)}")
            lines.append(f"    in the recording: {group.where()}")
    for key in new_keys:
        lines.append(f"new: {_label(new.queries[key])}  {_times(new.queries[key].count)}")
    return Failure("fewer_queries", headline, lines, list(new_keys))


_REDIRECTS = (301, 302, 303, 307, 308)


def _suspects(old: Profile, new: Profile, new_keys: list[str]) -> list[str]:
    """Why the replay may differ without a code change: missing data, a missing login, a cache's state."""
    out: list[str] = []
    warm, cold = _warm(old, new), _warm(new, old)
    for (_, path, was), (_, _, now) in zip(old.requests, new.requests, strict=False):
        if was == now or not isinstance(was, int) or not isinstance(now, int) or not 200 <= was < 300:
            continue
        shown = redact.url(path) if isinstance(path, str) else "the page"
        if now in _REDIRECTS and _is_login(new.location):
            who = f"as {old.user!r}" if old.user else "by a logged-in user"
            out.append(f"a missing login: {shown} redirected to the login page ({new.location}); it was "
                       f"recorded {who}. Log the test's client in, or pass user=")
        elif now in (401, 403):
            who = f" as {old.user!r}" if old.user else ""
            out.append(f"a missing login or permission: {shown} answered {now} where the recording "
                       f"(made{who}) got {was}. Give the test's user the permission, or pass user=")
        elif now == 404:
            out.append(f"missing data: {shown} answered 404 where the recording got {was}: an object the URL "
                       "names is probably not in the test database. Create it in the test or load a fixture")
        elif now in _REDIRECTS:
            out.append(f"{shown} redirected to {new.location or 'another page'} where the recording got {was}")
    if new.total_queries < old.total_queries and not new_keys:
        for key, group in old.queries.items():
            found = new.queries.get(key)
            most = found.most_from_one_site if found else 0
            if group.most_from_one_site >= 2 and most < group.most_from_one_site:
                out.append(
                    f"missing data: {_label(group)} ran {group.most_from_one_site} times from one call site "
                    f"in the recording (once per row), {_times(most) if most else 'not at all'} now, and no "
                    "new query replaced it: the test database holds fewer rows than the recording's. Create "
                    "them in the test or load a fixture"
                )
                break
        else:
            if not any(s.startswith("missing data") for s in out) and not warm:
                out.append(
                    f"missing data: {old.total_queries - new.total_queries} fewer queries and no new one: the "
                    "test database may hold less than the recording's (or the code stopped a lookup)"
                )
    if warm:
        out.append(f"a warm cache: {_n(len(warm), 'cache read')} hit now that missed in the recording "
                   f"({_keys(warm)}): the work behind them did not run. Clear the cache at the start of the test")
    if cold:
        out.append(f"a cold cache: {_n(len(cold), 'cache read')} missed now that hit in the recording "
                   f"({_keys(cold)}): the work behind them ran again. Warm the cache in the test first")
    return out


def _warm(old: Profile, new: Profile) -> list[tuple[str, str]]:
    """Cache reads that missed in ``old`` and hit more often in ``new``."""
    out = []
    for key, (hits, misses) in new.cache_reads.items():
        before = old.cache_reads.get(key)
        if before is not None and before[1] > misses and hits > before[0]:
            out.append(key)
    return out


def _keys(reads: list[tuple[str, str]], limit: int = 3) -> str:
    shown = ", ".join(f"{op} {key}" for op, key in reads[:limit])
    return shown + (f" and {len(reads) - limit} more" if len(reads) > limit else "")


def _is_login(location: str | None) -> bool:
    if not location:
        return False
    try:
        from django.conf import settings
        from django.shortcuts import resolve_url

        login = str(resolve_url(settings.LOGIN_URL))
    except Exception:
        login = "/accounts/login/"
    return location.split("?", 1)[0].rstrip("/").endswith(login.split("?", 1)[0].rstrip("/")) or "next=" in location


def _timing(
    old_ns: int | None, new_ns: int, tolerance: float, slack_ms: float, budget_ms: float | None
) -> Failure | None:
    new_ms = new_ns / 1e6
    if budget_ms is not None and new_ms > budget_ms:
        return Failure("timing", f"took {new_ms:.1f} ms, over the budget of {budget_ms:g} ms", [])
    if old_ns is None:
        return None
    old_ms = old_ns / 1e6
    allowed = old_ms * (1 + tolerance) + slack_ms
    if new_ms > allowed:
        return Failure(
            "timing",
            f"took {new_ms:.1f} ms, allowed {allowed:.1f} ms",
            [f"recorded {old_ms:.1f} ms, tolerance +{tolerance:.0%} plus {slack_ms:g} ms slack"],
        )
    return None


# -- the message ---------------------------------------------------------------------------------------


def format_failure(
    comparison: Comparison, *, source: str, what: str, actual_path: str | None, notes: Iterable[str] = ()
) -> str:
    failures = comparison.failures
    new = comparison.actual
    if comparison.improved:
        head = (f"Replay of {source} ({what}) improved on the recording: {comparison.recorded.total_queries} -> "
                f"{new.total_queries} queries, nothing worse (fewer_queries)")
    else:
        head = (f"Replay of {source} ({what}) does not match the recording: "
                f"{len(failures)} check{'s' if len(failures) != 1 else ''} failed "
                f"({', '.join(f.check for f in failures)})")
    lines = [
        head,
        f"  recorded: {_overview(comparison.recorded)}",
        f"  replay:   {_overview(new)}",
        "",
        *(["Suspected (the difference may come from the test's data, not from the code):",
           *(f"  - {line}" for line in comparison.suspects), ""] if comparison.suspects else []),
    ]
    shown: list[str] = []
    for failure in failures:
        lines.append(f"{failure.check}: {failure.headline}")
        lines.extend(f"  {line}" for line in failure.lines)
        shown.extend(k for k in failure.keys if k not in shown)
    if shown:
        lines += ["", "Queries involved (fingerprint, statement, where the replay ran it):"]
        for key in shown:
            group = new.queries[key]
            lines.append(f"  {_label(group)}  {_clip(group.text)}")
            lines.append(f"      {group.where()}")
    lines.append("")
    if actual_path:
        lines.append(f"Actual trace written to {actual_path}")
    lines.append(
        "If the change is intended, re-record: pytest --lifecycle-record=all "
        "(or replace the recorded file with the actual one)."
    )
    all_notes = [*comparison.notes, *notes]
    if all_notes:
        lines.append("Notes:")
        lines.extend(f"  - {note}" for note in all_notes)
    return "\n".join(lines)


def _overview(p: Profile) -> str:
    status = "status " + ", ".join(str(r[2]) for r in p.requests) if p.requests else "no request"
    ms = "" if p.duration_ns is None else f", {p.duration_ns / 1e6:.1f} ms"
    return f"{status}, {_n(p.total_queries, 'query', 'queries')}, {_n(len(p.templates), 'template')}{ms}"


def _repeated(group: QueryGroup, threshold: int) -> str:
    flag = f", N+1 (threshold {threshold})" if group.n_plus_one else ""
    return f"{_label(group)}  {_times(group.count)}{flag}"


def _grown(old: QueryGroup, new: QueryGroup) -> list[str]:
    """The grown count, then each call chain that runs it more often than recorded: the new caller."""
    lines = [f"{_label(new)}  {old.count} -> {new.count} times (+{new.count - old.count})"]
    for chain, n in new.sites.most_common():
        before = old.sites.get(chain, 0)
        if n > before:
            where = chain or "outside user code (no user frame recorded)"
            lines.append(f"    {'more' if before else 'new caller'}: {where}  {before} -> {n} times")
    return lines


def _label(group: QueryGroup) -> str:
    return group.fp if group.key == group.fp else f"{group.fp} (portable {group.key})"


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + " …"


def _n(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _resolutions(items: list[tuple[str | None, str | None]]) -> str:
    if not items:
        return "no URL resolved"
    return "; ".join(f"{view or '-'} ({name})" if name else f"{view or '-'}" for view, name in items)


def _statuses(requests: list[tuple[str | None, str | None, int | None]]) -> str:
    if not requests:
        return "no request"
    if len(requests) == 1:
        return str(requests[0][2])
    # Paths of a trace file written by hand or by an older version may hold secrets: never print them.
    return "; ".join(f"{m} {redact.url(p) if isinstance(p, str) else p} -> {s}" for m, p, s in requests)
