"""The test project's websocket application: the demo's routes and the test consumers, under
``lifecycle.channels.traced``, with the dashboard's route too (which must stay untraced)."""

from __future__ import annotations

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from django.urls import path, re_path

import lifecycle.routing
from demo_site.shop.routing import websocket_urlpatterns as shop_websocket_urlpatterns
from lifecycle.channels import traced
from tests.testapp.consumers import AsyncBooks, RefusingBooks, SyncBooks

websocket_urlpatterns = [
    path("t/ws/sync/", SyncBooks.as_asgi()),
    path("t/ws/refuse/", RefusingBooks.as_asgi()),
    re_path(r"^t/ws/reset/(?P<token>[\w-]+)/$", SyncBooks.as_asgi()),
    path("t/ws/async/", AsyncBooks.as_asgi()),
]

router = URLRouter([*lifecycle.routing.websocket_urlpatterns, *shop_websocket_urlpatterns, *websocket_urlpatterns])
application = AuthMiddlewareStack(traced(router))
# The mixin alone, without the router wrapper.
untraced_application = AuthMiddlewareStack(router)
