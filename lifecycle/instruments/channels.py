"""Channels: a ``channel`` span per channel-layer ``send`` and ``group_send`` made while recording.

Channels offers no hook for layer calls, so the layer classes get wrapped ``send`` and ``group_send``
methods: ``InMemoryChannelLayer`` at install, and the class of every layer channels builds from
``CHANNEL_LAYERS`` (``ChannelLayerManager._make_backend``, so ``channels_redis`` is never imported by us).
A layer class built some other way (``channel_layers.set(...)`` with an object of a class never
configured) is not traced. With Channels not installed, install does nothing.

A span's attributes: ``op`` (``send`` or ``group_send``), ``group`` or ``channel``, ``type`` (the message
type), ``layer`` (its class), ``size`` (the message as JSON, bytes), and ``message`` itself, redacted like
a JSON body, only when it is at most :data:`MAX_SHOWN` bytes; ``error`` when the call raised.

Calls inside a traced call are part of its span (``InMemoryChannelLayer.group_send`` sends to each
member). The dashboard's own group is never recorded: the live publisher sends to it from a task that
may have been started inside a trace.
"""

from __future__ import annotations

import functools
from importlib.util import find_spec
from typing import Any

import orjson

from lifecycle import redact
from lifecycle.kinds import Kind
from lifecycle.recorder import _parent, _recording
from lifecycle.safety import report

KIND = "channel"
CHANNEL = Kind(KIND, "channel layer", "L", "#44aa99", ("op", "group", "channel", "type", "layer", "size"),
               "A channel layer send or group_send (Django Channels): the group or channel, the message type.")
# The root span of a consumer's trace (lifecycle.channels); registered here too, so that a site that opts
# consumers in finds it described wherever instruments are listed.
CONSUMER = Kind("consumer", "consumer", "W", "#332288",
                ("consumer", "path", "event", "size", "code", "accepted", "sent"),
                "A Channels consumer's connect, received frame or disconnect: the root of a websocket trace.")

# The instrument contract (lifecycle.instruments.base): what it records, how it names itself.
kinds = (CONSUMER, CHANNEL)
label = "Channels"
OPERATIONS = ("send", "group_send")
# The live dashboard's group (lifecycle.live.layer.GROUP; instruments do not import the publisher).
DASHBOARD_GROUP = "lifecycle"
MAX_SHOWN = 200
_MISSING = object()
# (class, method name) -> what the class itself had under that name (_MISSING: it inherited it).
_originals: dict[tuple[type, str], Any] = {}


def _attrs(layer: Any, op: str, target: Any, message: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {"op": op, "group" if op == "group_send" else "channel": str(target)[:200],
                             "layer": f"{type(layer).__module__}.{type(layer).__qualname__}"}
    if isinstance(message, dict):
        kind = message.get("type")
        if isinstance(kind, str):
            attrs["type"] = kind[:200]
        try:
            data = orjson.dumps(message, default=str, option=orjson.OPT_NON_STR_KEYS)
        except Exception:
            return attrs  # not JSON even with str(): no size, no content
        attrs["size"] = len(data)
        if len(data) <= MAX_SHOWN:
            attrs["message"] = redact.json_value(orjson.loads(data))
    return attrs


def _begin(rec: Any, layer: Any, op: str, target: Any, message: Any) -> tuple[Any, Any]:
    try:
        parent = _parent.get()
        if parent is not None and parent.kind == KIND:
            return None, None  # inside a traced call of the layer: part of its span
        shown = target if isinstance(target, str) else str(target)
        return rec.push(KIND, f"{op} {shown}"[:200], _attrs(layer, op, target, message))
    except Exception as exc:
        report("channels instrument", exc)
        return None, None


def _end(rec: Any, span: Any, token: Any, exc: BaseException | None = None) -> None:
    try:
        if exc is not None and span is not None:
            span.attrs["error"] = redact.error(exc)
        rec.pop(span, token)
    except Exception as err:
        report("channels instrument", err)


def _wrapper(original: Any, op: str) -> Any:
    @functools.wraps(original)
    async def traced(self, target, message, *args, **kwargs):
        # Outside a trace: one ContextVar read, then the layer's own method.
        rec = _recording.get()
        if rec is None or target == DASHBOARD_GROUP:
            return await original(self, target, message, *args, **kwargs)
        span, token = _begin(rec, self, op, target, message)
        if span is None:
            return await original(self, target, message, *args, **kwargs)
        try:
            result = await original(self, target, message, *args, **kwargs)
        except BaseException as exc:
            _end(rec, span, token, exc)
            raise
        _end(rec, span, token)
        return result

    traced._lifecycle_wrapped = True  # type: ignore[attr-defined]
    return traced


def wrap_class(cls: type) -> None:
    """Trace ``send`` and ``group_send`` of the layer class ``cls`` (idempotent)."""
    for op in OPERATIONS:
        if (cls, op) in _originals:
            continue
        current = getattr(cls, op, None)
        if current is None or getattr(current, "_lifecycle_wrapped", False):
            continue
        _originals[(cls, op)] = cls.__dict__.get(op, _MISSING)
        setattr(cls, op, _wrapper(current, op))


def install() -> None:
    if _originals or find_spec("channels") is None:
        return
    from channels.layers import ChannelLayerManager, InMemoryChannelLayer, channel_layers

    wrap_class(InMemoryChannelLayer)
    for layer in list(channel_layers.backends.values()):
        wrap_class(type(layer))
    original = ChannelLayerManager._make_backend

    @functools.wraps(original)
    def _make_backend(self, name, config):
        layer = original(self, name, config)
        try:
            wrap_class(type(layer))
        except Exception as exc:
            report("channels instrument", exc)
        return layer

    _originals[(ChannelLayerManager, "_make_backend")] = ChannelLayerManager.__dict__["_make_backend"]
    ChannelLayerManager._make_backend = _make_backend


def uninstall() -> None:
    for (owner, name), original in list(_originals.items()):
        if original is _MISSING:
            delattr(owner, name)
        else:
            setattr(owner, name, original)
    _originals.clear()
