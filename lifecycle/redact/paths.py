"""URL path arguments with secret names: ``reset/<uidb64>/<token>/``, ``keys/<key>/``, ``<signature>``.

A path is redacted before it is resolved, so that the first live event of a trace (its list row) and the
request span's name never carry the secret. Once per URLconf the patterns are walked, and the chains of
patterns (``include()`` levels down to the endpoint) that capture an argument with a secret name (words,
as ``lifecycle.redact.words`` matches them) are kept; a path is then matched against those chains only,
the way Django's resolver matches it, and the characters captured by secret groups become ``REDACTED``.
A site without such routes pays one identity check per path. A path matched by such a chain is
redacted even when an earlier pattern would win the resolution: redacting too much is the safe error.

After resolution the handler instrument also redacts by the arguments of the actual match
(:func:`secret_kwargs`, :func:`replace_values`): that covers ``request.urlconf`` set by a middleware
and URLconfs too large to walk (more than ``_MAX_CHAINS`` secret routes).
"""

from __future__ import annotations

import re
from typing import Any

from django.urls import URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

from lifecycle.conf import REDACTED, on_reset
from lifecycle.redact.words import sensitive_name
from lifecycle.safety import report

_MAX_CHAINS = 500
_MAX_DEPTH = 20
# Patterns looked at in one walk: a URLconf that includes itself (or a huge one) would otherwise be walked
# along every one of its paths. Past this, paths are redacted after resolution only.
_MAX_VISITS = 20_000


class _TooLarge(Exception):
    pass
# (the resolver the chains were built from, the chains): each chain is (its literal prefix, the tuple of
# (pattern, secret group names) from the root resolver down to the endpoint).
_state: tuple[Any, tuple] = (None, ())


@on_reset
def _forget() -> None:
    global _state
    _state = (None, ())


def _chains() -> tuple:
    global _state
    resolver = get_resolver()
    built, chains = _state
    if resolver is not built:
        try:
            found: list = []
            _walk(resolver.url_patterns, ((resolver.pattern, frozenset()),), found, 0, [_MAX_VISITS])
            chains = tuple((_prefix(chain), chain) for chain in found)
        except _TooLarge:
            chains = ()
        except Exception as exc:  # a broken URLconf: Django reports it when it resolves
            report("reading the URLconf for secret URL arguments", exc)
            chains = ()
        # Remembered also when the walk failed or gave up: it is not tried again for this URLconf.
        _state = (resolver, chains)
    return chains


def _prefix(chain: tuple) -> str:
    """The literal text every path matched by ``chain`` starts with (``/reset/`` for
    ``reset/<uidb64>/<token>/``): most paths are told apart by one ``startswith``."""
    prefix = "/"
    for pattern, _ in chain[1:]:
        if not isinstance(pattern, RoutePattern):
            break
        route = str(pattern)
        literal = route.split("<", 1)[0]
        prefix += literal
        if literal != route:
            break
    return prefix


def _names(pattern: Any) -> frozenset[str]:
    regex = getattr(pattern, "regex", None) if isinstance(pattern, (RoutePattern, RegexPattern)) else None
    if regex is None:
        return frozenset()
    return frozenset(name for name in regex.groupindex if sensitive_name(name))


def _walk(patterns: Any, chain: tuple, out: list, depth: int, budget: list[int]) -> None:
    """Chains with secret groups into ``out``; :class:`_TooLarge` past ``budget`` patterns or
    :data:`_MAX_CHAINS` chains (then the path is redacted once resolved, by the actual match)."""
    if depth > _MAX_DEPTH:
        return
    for entry in patterns:
        budget[0] -= 1
        if budget[0] < 0:
            raise _TooLarge
        level = (*chain, (entry.pattern, _names(entry.pattern)))
        if isinstance(entry, URLResolver):
            try:
                children = entry.url_patterns
            except Exception:
                continue
            _walk(children, level, out, depth + 1, budget)
        elif any(names for _, names in level):
            out.append(level)
            if len(out) > _MAX_CHAINS:
                raise _TooLarge


def active() -> bool:
    """Whether the URLconf has routes with secret arguments (else paths need no look)."""
    try:
        return bool(_chains())
    except Exception as exc:
        report("reading the URLconf for secret URL arguments", exc)
        return False


def _spans(chain: tuple, path: str) -> list[tuple[int, int]] | None:
    offset, rest, last = 0, path, len(chain) - 1
    spans: list[tuple[int, int]] = []
    for i, (pattern, names) in enumerate(chain):
        if isinstance(pattern, (RoutePattern, RegexPattern)):
            regex = pattern.regex
            endpoint_fullmatch = i == last and isinstance(pattern, RegexPattern) and regex.pattern.endswith("$")
            m = regex.fullmatch(rest) if endpoint_fullmatch else regex.search(rest)
            if m is None:
                return None
            for name in names:
                if m.group(name) is not None:
                    spans.append((offset + m.start(name), offset + m.end(name)))
            end = m.end()
        else:
            matched = pattern.match(rest)
            if not matched:
                return None
            end = len(rest) - len(matched[0])
        offset += end
        rest = rest[end:]
    return spans


def redact_with_values(path: str) -> tuple[str, list[str]]:
    """``(path with the secret arguments redacted, the secret values)`` by the site's URLconf."""
    chains = _chains()
    if not chains:
        return path, []
    found: set[tuple[int, int]] = set()
    for prefix, chain in chains:
        if not path.startswith(prefix):
            continue
        spans = _spans(chain, path)
        if spans:
            found.update(spans)
    if not found:
        return path, []
    values = []
    out = path
    for start, end in sorted(found, reverse=True):
        if start < end and out[start:end] != REDACTED:
            values.append(path[start:end])
            out = out[:start] + REDACTED + out[end:]
    return out, values


def redact(path: str) -> str:
    """A path (``/reset/MQ/abc-123/``) with the arguments of secret-named URL parameters redacted."""
    try:
        return redact_with_values(path)[0]
    except Exception as exc:
        report("redacting a URL path", exc)
        return path


def request_path(request: Any) -> tuple[str, list[str]]:
    """``request.path`` redacted (matched on ``path_info``, as the resolver does), and the secrets."""
    path, info = request.path, request.path_info
    shown, values = redact_with_values(info)
    if not values:
        return path, values
    prefix = path[: len(path) - len(info)] if path.endswith(info) else ""
    return prefix + shown, values


def secret_kwargs(kwargs: dict[str, Any]) -> dict[str, str]:
    """The arguments of a resolver match whose names are secret, as text."""
    return {k: str(v) for k, v in kwargs.items() if isinstance(k, str) and sensitive_name(k)}


def replace_values(text: str, values: list[str] | tuple[str, ...]) -> str:
    """``text`` (a path, a span name) with each value replaced where it fills whole path segments, or
    everywhere when it fills none."""
    for v in values:
        if not v or v == REDACTED or v not in text:
            continue
        aligned = re.compile(rf"(?<=/){re.escape(v)}(?=/|$|\?|#|\s)")
        replaced = aligned.sub(REDACTED, text)
        text = replaced if replaced != text else text.replace(v, REDACTED)
    return text
