"""Turn a ``DATABASE_URL`` into a Django ``DATABASES`` entry, without an extra dependency.

Supported forms:

- ``postgres://user:pass@host:5432/name`` and ``postgresql://...``; percent-escapes are decoded in every
  part (a Unix socket directory can be given as an escaped host: ``%2Fvar%2Frun%2Fpostgresql``), and query
  parameters become ``OPTIONS`` (``?sslmode=require``).
- ``sqlite:///relative/path.sqlite3`` (relative to the repository top), ``sqlite:////absolute/path.sqlite3``
  and ``sqlite://`` or ``sqlite:///:memory:`` for an in-memory database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

POSTGRES_SCHEMES = frozenset({"postgres", "postgresql"})


def parse_database_url(url: str, base_dir: Path) -> dict[str, Any]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in POSTGRES_SCHEMES:
        return _postgres(url)
    if scheme == "sqlite":
        return _sqlite(url, base_dir)
    # The URL itself is left out of the message: it may hold a password.
    raise ImproperlyConfigured(
        f"DATABASE_URL: expected a postgres://, postgresql:// or sqlite:/// URL, got scheme {scheme!r}."
    )


def _postgres(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured(
            "DATABASE_URL: expected a database name after the host (postgres://user:pass@host:5432/name), "
            "got none."
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL: expected a numeric port, got {exc}.") from exc
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": unquote(parts.hostname or ""),
        "PORT": str(port or ""),
        "OPTIONS": dict(parse_qsl(parts.query)),
    }


def _sqlite(url: str, base_dir: Path) -> dict[str, Any]:
    # urlsplit("sqlite:///a.db").path == "/a.db" and urlsplit("sqlite:////tmp/a.db").path == "//tmp/a.db":
    # the first slash only separates the (empty) host from the path.
    path = unquote(urlsplit(url).path)[1:]
    if path in ("", ":memory:"):
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(base_dir / path)}
