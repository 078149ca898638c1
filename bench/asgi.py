"""ASGI entry point of the benchmark site, for bench/stream.py: ``daphne bench.asgi:application``.

HTTP goes to Django; the websocket branch serves the dashboard's consumer (``__lifecycle__/ws/``) in the
lifecycle modes. No origin validator or auth stack: the consumer checks the origin and access itself
(DEBUG on, client 127.0.0.1 in INTERNAL_IPS).
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

routes: dict = {"http": django_app}
if "lifecycle" in settings.INSTALLED_APPS:
    import lifecycle.routing

    routes["websocket"] = URLRouter(lifecycle.routing.websocket_urlpatterns)
application = ProtocolTypeRouter(routes)
