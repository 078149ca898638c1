"""``RedisStore``: traces kept in Redis, shared by every process that reaches it (several machines too).

Keys under ``prefix``: ``<prefix>:index`` (a sorted set of trace ids by the time they were added),
``<prefix>:rows`` and ``<prefix>:data`` (hashes of list rows and trace JSON by id), ``<prefix>:cleared``.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from lifecycle.safety import report
from lifecycle.stores.base import Entry, StoreError, TraceStore, checked_row, checked_trace, project_key

CONNECT_TIMEOUT = 1.0
TIMEOUT = 3.0


class RedisStore(TraceStore):
    """Options: ``url`` (default: the first host of lifecycle's ``channels_redis`` channel layer), ``prefix``
    (default ``lifecycle:<project>``, so that projects sharing a Redis keep apart)."""

    def __init__(self, *, url: str | None = None, prefix: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        try:
            import redis
        except ImportError:
            raise StoreError('the Redis trace store needs the redis package: pip install '
                             '"django-request-lifecycle[redis]"') from None
        self.url = url or channel_layer_url() or "redis://127.0.0.1:6379/0"
        self.prefix = prefix or f"lifecycle:{project_key()}"
        try:
            self.client = redis.Redis.from_url(self.url, socket_connect_timeout=CONNECT_TIMEOUT,
                                               socket_timeout=TIMEOUT)
        except ValueError as exc:
            raise StoreError(f"LIFECYCLE['TRACE_STORE_OPTIONS']['url'] = {self.url!r} is not a Redis URL ({exc})") \
                from None
        self._error = redis.RedisError

    def describe(self) -> str:
        return f"Redis at {_without_password(self.url)} (keys {self.prefix}:*)"

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def _run(self, what: str, fn):
        try:
            return fn(self.client)
        except self._error as exc:
            raise StoreError(f"{what} {self.describe()} failed: {type(exc).__name__}: {exc}") from None

    def write(self, entries: list[Entry]) -> None:
        index, rows, data = self._key("index"), self._key("rows"), self._key("data")

        def run(client) -> None:
            with client.pipeline(transaction=False) as pipe:
                pipe.zadd(index, {e.id: e.added_at for e in entries})
                pipe.hset(rows, mapping={e.id: _row_json(e.row) for e in entries})
                pipe.hset(data, mapping={e.id: e.data for e in entries})
                if self.max_age is not None:
                    pipe.zrangebyscore(index, "-inf", f"({self.cutoff()!r}")
                pipe.zrange(index, 0, -self.max_traces - 1)  # all but the newest max_traces
                old = set().union(*pipe.execute()[3:])
            if old:
                with client.pipeline(transaction=False) as pipe:
                    pipe.zrem(index, *old)
                    pipe.hdel(rows, *old)
                    pipe.hdel(data, *old)
                    pipe.execute()

        self._run("writing to", run)

    def recent(self, limit: int) -> list[tuple[float, dict[str, Any]]]:
        if limit <= 0:
            return []

        def run(client) -> list[tuple[float, dict[str, Any]]]:
            found = client.zrevrangebyscore(self._key("index"), "+inf", self.cutoff(),
                                            start=0, num=limit, withscores=True)
            if not found:
                return []
            raws = client.hmget(self._key("rows"), [trace_id for trace_id, _ in found])
            out = []
            for (trace_id, added_at), raw in zip(found, raws, strict=True):
                key = trace_id.decode(errors="replace")
                row = checked_row(raw, key) if raw is not None else None
                if row is None:
                    report("reading a damaged trace store row",
                           StoreError(f"trace {key!r} in {self.describe()} has a damaged list row; left out"))
                    continue
                out.append((float(added_at), row))
            return out

        return self._run("reading", run)

    def get_json(self, trace_id: str) -> bytes | None:
        def run(client):
            with client.pipeline(transaction=False) as pipe:
                pipe.zscore(self._key("index"), trace_id)
                pipe.hget(self._key("data"), trace_id)
                return pipe.execute()

        added_at, data = self._run("reading", run)
        if added_at is None or data is None or added_at < self.cutoff():
            return None
        return checked_trace(data, trace_id, self.describe())

    def cleared_at(self) -> float:
        value = self._run("reading", lambda client: client.get(self._key("cleared")))
        try:
            return float(value) if value is not None else 0.0
        except ValueError:
            return 0.0

    def clear(self) -> None:
        def run(client) -> None:
            with client.pipeline(transaction=True) as pipe:
                pipe.delete(self._key("index"), self._key("rows"), self._key("data"))
                pipe.set(self._key("cleared"), repr(time.time()))
                pipe.execute()

        self._run("clearing", run)

    def close(self) -> None:
        super().close()
        self.client.close()


def channel_layer_url() -> str | None:
    """The Redis URL of lifecycle's channel layer (``LIFECYCLE["CHANNEL_LAYER"]``) when it is a
    ``channels_redis`` layer whose first host is given as a URL, ``(host, port)`` or ``{"address": URL}``."""
    from django.conf import settings

    from lifecycle import conf

    alias = conf.get("CHANNEL_LAYER")
    layer = (getattr(settings, "CHANNEL_LAYERS", None) or {}).get(alias) if alias is not None else None
    if not isinstance(layer, dict) or not str(layer.get("BACKEND", "")).startswith("channels_redis."):
        return None
    hosts = (layer.get("CONFIG") or {}).get("hosts") or ["redis://127.0.0.1:6379"]
    host = hosts[0] if isinstance(hosts, (list, tuple)) and hosts else None
    if isinstance(host, dict):
        host = host.get("address")
    if isinstance(host, (list, tuple)) and len(host) == 2:
        return f"redis://{host[0]}:{host[1]}/0"
    return host if isinstance(host, str) and host else None


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _row_json(row: dict[str, Any]) -> bytes:
    import orjson

    return orjson.dumps(row, default=str)
