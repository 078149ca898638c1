"""The policy: which names are secret, matched as words, and which values look like credentials.

A name (a query or form field, a JSON key, a header, a URL keyword argument, a variable) is split into
words: at ``_ - . [ ]`` and spaces, at camelCase humps and between letters and digits, so
``X-Access-Token`` is ``x access token``, ``privateKey`` is ``private key``, ``APIKey`` is ``api key``
and ``password2`` is ``password 2``. It is secret when

- one of its words is a one-word entry of ``REDACT_FIELDS`` (for headers also ``REDACT_HEADERS``):
  ``auth`` matches ``auth``, ``x-auth-token`` and ``authToken``, never ``author`` or ``authority``;
- or a multi-word entry occurs in it as consecutive words: ``api_key`` matches ``x-api-key``,
  ``apiKey`` and ``my_api_key_2``;
- or it is, as a whole, one of ``REDACT_WHOLE_NAMES``: ``key`` and ``code`` (an OAuth authorization
  code, a ``<key>`` in a URL) are secret alone, while ``sort_key`` and ``zip_code`` are not.

Entries are written in any of those styles (``"client_secret"``, ``"client-secret"``, ``"clientSecret"``
are the same entry). Results are cached per name: a request pays for the names it has not seen before.
"""

from __future__ import annotations

import re
from typing import Any

from lifecycle import conf

_CACHE_SIZE = 2048
_SPLIT = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


class Policy:
    """The compiled word lists of one configuration (rebuilt when ``LIFECYCLE`` changes)."""

    __slots__ = ("words", "phrases", "whole")

    def __init__(self, entries: tuple[str, ...] | list[str], whole: tuple[str, ...] | list[str]) -> None:
        split = [words_of(str(e)) for e in entries]
        self.words = frozenset(w[0] for w in split if len(w) == 1)
        self.phrases = tuple({w for w in split if len(w) > 1})
        self.whole = frozenset(words_of(str(e)) for e in whole)

    def matches(self, words: tuple[str, ...]) -> bool:
        if words in self.whole:
            return True
        for word in words:
            if word in self.words:
                return True
        for phrase in self.phrases:
            n = len(phrase)
            first = phrase[0]
            for i in range(len(words) - n + 1):
                if words[i] == first and words[i:i + n] == phrase:
                    return True
        return False


def words_of(name: str) -> tuple[str, ...]:
    """``"X-Access-Token"`` -> ``("x", "access", "token")``; ``"privateKey"`` -> ``("private", "key")``."""
    return tuple(w.lower() for w in _SPLIT.findall(name))


_fields: Policy | None = None
_headers: Policy | None = None
_field_cache: dict[str, bool] = {}
_header_cache: dict[str, bool] = {}


@conf.on_reset
def _clear() -> None:
    global _fields, _headers
    _fields = _headers = None
    _field_cache.clear()
    _header_cache.clear()


def _field_policy() -> Policy:
    global _fields
    if _fields is None:
        _fields = Policy(conf.get("REDACT_FIELDS"), conf.get("REDACT_WHOLE_NAMES"))
    return _fields


def _header_policy() -> Policy:
    global _headers
    if _headers is None:
        _headers = Policy((*conf.get("REDACT_FIELDS"), *conf.get("REDACT_HEADERS")), conf.get("REDACT_WHOLE_NAMES"))
    return _headers


def remember(cache: dict, key: Any, value: Any) -> Any:
    """``cache[key] = value``, the cache emptied first when full (these caches are per name or text)."""
    if len(cache) > _CACHE_SIZE:
        cache.clear()
    cache[key] = value
    return value


def sensitive_name(name: str) -> bool:
    """Whether a field, key, URL argument or variable named ``name`` holds a secret."""
    hit = _field_cache.get(name)
    if hit is None:
        hit = remember(_field_cache, name, _field_policy().matches(words_of(name)))
    return hit


def sensitive_header(name: str) -> bool:
    """Whether a request or response header named ``name`` holds a secret (fields' and headers' lists)."""
    hit = _header_cache.get(name)
    if hit is None:
        hit = remember(_header_cache, name, _header_policy().matches(words_of(name)))
    return hit


# -- value shapes: secrets whatever their name -------------------------------------------------------------

# A JSON Web Token (header.payload.signature, the first two base64url JSON objects: "eyJ" is '{"').
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
# "Bearer <token>" / "Basic <credentials>" wherever they appear (a log line, an exception message).
SCHEME_CREDENTIALS = re.compile(r"\b(Bearer|Basic|Token|Digest)(\s+)[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE)


def looks_secret(value: str) -> bool:
    """Whether ``value`` as a whole has the shape of a credential (a JWT)."""
    return "eyJ" in value and JWT.fullmatch(value) is not None
