"""The demo's websocket routes (``demo_site/asgi.py`` traces them with ``lifecycle.channels.traced``)."""

from __future__ import annotations

from django.urls import path

from demo_site.shop.consumers import CounterConsumer

websocket_urlpatterns = [
    path("ws/counter/", CounterConsumer.as_asgi(), name="counter"),
]
