"""The demo's websocket consumer: the live counter of ``/live/``, traced by ``lifecycle.channels.traced``
in ``demo_site/asgi.py``. Each connect, click and disconnect is a trace in the dashboard (``WS`` rows),
with the query, the cache calls and the ``group_send`` that tells every open page the new count."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.generic.websocket import JsonWebsocketConsumer
from django.core.cache import cache

from demo_site.shop.models import Book

GROUP = "demo-counter"
COUNT_KEY = "demo:counter"


class CounterConsumer(JsonWebsocketConsumer):
    """A sync consumer: channels runs its handlers in a thread (``database_sync_to_async``)."""

    def connect(self) -> None:
        async_to_sync(self.channel_layer.group_add)(GROUP, self.channel_name)
        self.accept()
        self.send_json({"count": cache.get(COUNT_KEY, 0), "books": Book.objects.count()})

    def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("action") != "add":
            self.send_json({"error": 'send {"action": "add"}'})
            return
        cache.add(COUNT_KEY, 0, timeout=None)
        count = cache.incr(COUNT_KEY)
        async_to_sync(self.channel_layer.group_send)(GROUP, {"type": "counter.changed", "count": count})

    def counter_changed(self, event: dict[str, Any]) -> None:
        self.send_json({"count": event["count"]})

    def disconnect(self, code: int) -> None:
        async_to_sync(self.channel_layer.group_discard)(GROUP, self.channel_name)
