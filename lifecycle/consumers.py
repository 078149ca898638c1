"""The dashboard's websocket: access check, hello + backlog, then the live events of the group.

Protocol: ``docs/trace-format.md`` ("Websocket"). Close codes sent after accepting, so that the browser
sees them (a refusal before accepting reaches it only as an HTTP 403 and close code 1006):

- ``4403``: the access callback (``LIFECYCLE["ACCESS_CALLBACK"]``) refused this client.
- ``4400``: cross-origin: the ``Origin`` header is missing or its host is not in ``ALLOWED_HOSTS``.
  ``AllowedHostsOriginValidator`` in asgi.py refuses those before us; this check keeps the dashboard
  safe when it is left out.

Neither is worth retrying without a change (log in, fix the settings).
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlparse

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from lifecycle import conf, store
from lifecycle.access import AccessContext, allowed
from lifecycle.publish import GROUP, get_publisher

CLOSE_FORBIDDEN = 4403
CLOSE_BAD_ORIGIN = 4400
MAX_CLIENT_FRAME = 4096
# Channel layers forget group members after ``group_expiry`` (a day by default, in-memory and Redis core
# layers alike), silently. A dashboard left open longer re-joins on a ping once this many seconds passed.
GROUP_REFRESH = 3600.0
PROTOCOL_VERSION = 1


def origin_allowed(scope: dict[str, Any]) -> bool:
    """The rule of channels' ``AllowedHostsOriginValidator``: the Origin's host is in ALLOWED_HOSTS."""
    from channels.security.websocket import OriginValidator

    origin = None
    for name, value in scope.get("headers") or ():
        if name == b"origin":
            try:
                origin = urlparse(value.decode("latin1"))
            except (UnicodeDecodeError, ValueError):
                return False
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    return OriginValidator(None, hosts).valid_origin(origin)


class DashboardConsumer(AsyncWebsocketConsumer):
    """Thin: everything it sends comes from the recent-trace store or the publisher's group messages."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channel_layer_alias = conf.get("CHANNEL_LAYER")
        self.joined = False
        self.joined_at = 0.0
        # dropped_events per publishing process: each process counts its own.
        self.dropped_by_source: dict[str, int] = {}

    async def connect(self) -> None:
        if not origin_allowed(self.scope):
            await self.accept()
            await self.close(code=CLOSE_BAD_ORIGIN, reason="cross-origin connection refused")
            return
        if not await database_sync_to_async(allowed)(AccessContext.from_scope(self.scope)):
            await self.accept()
            await self.close(code=CLOSE_FORBIDDEN, reason="access refused")
            return
        publisher = get_publisher()
        # Our loop is where the in-memory layer's queues for this consumer live: publish on it.
        publisher.bind_loop(asyncio.get_running_loop(), strong=True)
        await self.accept()
        if self.channel_layer is not None:
            await self.channel_layer.group_add(GROUP, self.channel_name)
            self.joined = True
            self.joined_at = asyncio.get_running_loop().time()
            publisher.listeners += 1
        await self.send_json({"type": "hello", "version": PROTOCOL_VERSION,
                              "dropped_events": publisher.dropped_events})
        await self.send_backlog()

    async def disconnect(self, code: int) -> None:
        if self.joined:
            self.joined = False
            get_publisher().listeners -= 1
            await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def send_json(self, obj: Any) -> None:
        await self.send(text_data=orjson.dumps(obj).decode())

    async def send_backlog(self) -> None:
        await self.send_json({"type": "backlog", "traces": store.recent()})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            return await self.send_error("expected a text frame with a JSON object, got a binary frame")
        if len(text_data) > MAX_CLIENT_FRAME:
            return await self.send_error(
                f"message too large: {len(text_data)} characters > {MAX_CLIENT_FRAME}")
        try:
            message = orjson.loads(text_data)
        except orjson.JSONDecodeError:
            return await self.send_error("expected a JSON object, got text that is not JSON")
        if not isinstance(message, dict):
            return await self.send_error(f"expected a JSON object, got a JSON {type(message).__name__}")
        kind = message.get("type")
        if kind == "ping":
            await self.refresh_group()
            await self.send_json({"type": "pong"})
        elif kind == "backlog":
            await self.send_backlog()
        else:
            await self.send_error(f'unknown message type {kind!r}; expected "ping" or "backlog"')

    async def refresh_group(self) -> None:
        now = asyncio.get_running_loop().time()
        if self.joined and now - self.joined_at > GROUP_REFRESH:
            await self.channel_layer.group_add(GROUP, self.channel_name)
            self.joined_at = now

    async def send_error(self, error: str) -> None:
        await self.send_json({"type": "error", "error": error})

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections (a hop to a worker thread) before every handler.
        # Forwarding events never touches the database, and they arrive many times a second, so they
        # skip that hop; every other message goes the usual way.
        if message.get("type") == "lifecycle.events":
            await self.lifecycle_events(message)
            return
        await super().dispatch(message)

    async def lifecycle_events(self, message: dict[str, Any]) -> None:
        """A batch from a publisher (``lifecycle.publish``), forwarded as one ``events`` frame.

        ``events_json`` is the batch already serialized: it is embedded as is, never parsed here."""
        source = message.get("source")
        dropped = message.get("dropped_events")
        if isinstance(source, str) and isinstance(dropped, int):
            self.dropped_by_source[source] = dropped
        publisher = get_publisher()
        self.dropped_by_source[publisher.source] = publisher.dropped_events
        await self.send_json({"type": "events", "events": orjson.Fragment(message["events_json"]),
                              "dropped_events": sum(self.dropped_by_source.values())})
