"""Former path of :mod:`lifecycle.live.routing`, as the README names it
(``lifecycle.routing.websocket_urlpatterns``): the same module object, importable without Channels."""

import sys

from lifecycle.live import routing

sys.modules[__name__] = routing
