"""The dashboard's websocket route, for the ``websocket`` branch of the site's ``ProtocolTypeRouter``::

    "websocket": AllowedHostsOriginValidator(
        AuthMiddlewareStack(URLRouter(lifecycle.routing.websocket_urlpatterns))
    )

Channels comes with the ``[live]`` extra: :data:`WS_PATH` is importable without it (the dashboard page
names the route), and ``websocket_urlpatterns`` imports the consumer, hence channels, on first access.
"""

from __future__ import annotations

from typing import Any

# Without a leading slash, as channels' URLRouter matches it; the dashboard page gets it with one.
WS_PATH = "__lifecycle__/ws/"


def __getattr__(name: str) -> Any:
    if name == "websocket_urlpatterns":
        from django.urls import path

        from lifecycle.live.consumer import DashboardConsumer

        patterns = [path(WS_PATH, DashboardConsumer.as_asgi(), name="lifecycle-ws")]
        globals()["websocket_urlpatterns"] = patterns  # built once: later reads skip this function
        return patterns
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
