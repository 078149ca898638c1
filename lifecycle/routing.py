"""The dashboard's websocket route, for the ``websocket`` branch of the site's ``ProtocolTypeRouter``::

    "websocket": AllowedHostsOriginValidator(
        AuthMiddlewareStack(URLRouter(lifecycle.routing.websocket_urlpatterns))
    )
"""

from __future__ import annotations

from django.urls import path

from lifecycle.consumers import DashboardConsumer

# Without a leading slash, as channels' URLRouter matches it; the dashboard page gets it with one.
WS_PATH = "__lifecycle__/ws/"

websocket_urlpatterns = [path(WS_PATH, DashboardConsumer.as_asgi(), name="lifecycle-ws")]
