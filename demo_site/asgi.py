"""ASGI entry point: ``python -m daphne demo_site.asgi:application`` (HTTP and the live websocket)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_site.settings")

# Set Django up (apps registry, models) before importing anything that may import models: channels'
# auth middleware and the lifecycle consumers do.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

import lifecycle.channels  # noqa: E402
import lifecycle.routing  # noqa: E402
from demo_site.shop.routing import websocket_urlpatterns as shop_websocket_urlpatterns  # noqa: E402

# `daphne` alone serves no static files (only its runserver command does); with DEBUG on, serve them
# here so that the dashboard's assets and the admin's CSS load. Static requests skip the middleware.
http_app = ASGIStaticFilesHandler(django_asgi_app) if settings.DEBUG else django_asgi_app

application = ProtocolTypeRouter(
    {
        "http": http_app,
        # traced(): the demo's consumers become traces in the dashboard (the dashboard's own never does).
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(
                lifecycle.channels.traced(
                    URLRouter([*lifecycle.routing.websocket_urlpatterns, *shop_websocket_urlpatterns])
                )
            )
        ),
    }
)
