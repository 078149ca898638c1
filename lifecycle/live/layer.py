"""Which channel layer the live events go to, decided from the settings.

Channels is optional (the ``[live]`` extra): nothing here imports it until a layer is built, and when it
is not installed nothing is published, whatever ``CHANNEL_LAYERS`` says (a warning is logged once).
``CHANNEL_LAYER`` set to None, or an alias without a layer, means no broadcast. The kind of layer decides
the rest (``lifecycle.live.loops``): ``InMemoryChannelLayer`` reaches only the consumers of this process,
a cross-process layer (``channels_redis``) every process's.
"""

from __future__ import annotations

import logging
from importlib.util import find_spec
from typing import Any

from lifecycle import conf

logger = logging.getLogger("lifecycle")

GROUP = "lifecycle"
MESSAGE_TYPE = "lifecycle.events"

_LOCAL_BACKENDS = frozenset({"channels.layers.InMemoryChannelLayer"})
_NONE, _LOCAL, _REMOTE = 0, 1, 2


class ChannelLayerChoice:
    """The publisher's channel layer: its kind from the settings alone, the layer itself on first use."""

    _kind: int | None
    _layer: Any
    _maxsize: int | None
    _warned_no_channels: bool

    def reset_settings(self) -> None:
        """Forget what was derived from the settings (called when LIFECYCLE or CHANNEL_LAYERS change)."""
        self._kind = None
        self._layer = None
        self._maxsize = None

    def _layer_kind(self) -> int:
        """None / in-memory / cross-process, from the settings alone: no import, no I/O."""
        kind = self._kind
        if kind is None:
            from django.conf import settings

            alias = conf.get("CHANNEL_LAYER")
            layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
            backend = (layers.get(alias) or {}).get("BACKEND") if alias is not None else None
            if not backend:
                kind = _NONE
            elif find_spec("channels") is None:
                kind = _NONE  # checked once per settings change, not per event
                self._warn_no_channels(backend)
            elif backend in _LOCAL_BACKENDS:
                kind = _LOCAL
            else:
                kind = _REMOTE
            self._kind = kind
        return kind

    def _warn_no_channels(self, backend: str) -> None:
        if not self._warned_no_channels:
            self._warned_no_channels = True
            logger.warning(
                "django-request-lifecycle: CHANNEL_LAYERS names %s but Django Channels is not installed, so live "
                "events are not published (the dashboard page still lists the recent traces). "
                'pip install "django-request-lifecycle[live]" for the live dashboard.', backend,
            )

    def channel_layer(self) -> Any:
        """The channel layer we publish to, or None (resolved once; the first call may import it)."""
        if self._layer is None and self._layer_kind() != _NONE:
            from channels.layers import InMemoryChannelLayer, get_channel_layer

            layer = get_channel_layer(conf.get("CHANNEL_LAYER"))
            if layer is None:
                self._kind = _NONE
            else:
                # A subclass of the in-memory layer named by its own path is still process-local.
                self._kind = _LOCAL if isinstance(layer, InMemoryChannelLayer) else _REMOTE
            self._layer = layer
        return self._layer

    def has_layer(self) -> bool:
        """Whether live events have a channel layer to go to (Channels installed, a layer configured for
        lifecycle): the dashboard opens its websocket only then."""
        return self._layer_kind() != _NONE
