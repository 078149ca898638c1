"""Tracing Channels websocket consumers: each connect, received frame and disconnect is a trace of its own.

Two ways in, one behaviour:

- per consumer, :class:`TracedConsumerMixin` first among the bases::

      class ChatConsumer(TracedConsumerMixin, WebsocketConsumer): ...

- for a whole websocket router, :func:`traced` in ``asgi.py``::

      "websocket": AuthMiddlewareStack(lifecycle.channels.traced(URLRouter(websocket_urlpatterns)))

  ``traced`` walks what it is given (``URLRouter`` routes, nested routers, Channels middleware, a
  ``ProtocolTypeRouter``'s ``websocket`` entry, a consumer's ``as_asgi()`` app) and returns a copy whose
  consumers are traced; the objects passed in are left as they were. A consumer class with
  ``lifecycle_traced = False`` is never traced (the dashboard's own ``DashboardConsumer`` is one).

A trace has ``kind`` ``"websocket"``; its root span, of kind ``consumer``, is named like
``receive /ws/chat/lobby/`` and has the consumer class (``consumer``), the ``path`` (redacted like a
request path: secret-named URL arguments become ``********``), the ``event`` (``connect``, ``receive``,
``disconnect``), the frame's ``size`` in bytes (``receive``), the close ``code`` (``disconnect``, or a
close sent by the handler), whether a connect was ``accepted``, and the frames the handler ``sent``. The
trace's ``request`` holds ``"method": "WS"``, the path, the redacted query string and headers, the
``event``, the received frame as ``body`` (redacted and capped like a request body) and the user of
``scope["user"]`` when Channels' ``AuthMiddleware`` has resolved it (never loaded by us).

The SQL, cache and template spans of the handler nest inside, in sync consumers too (their handlers run
in a thread through ``database_sync_to_async``, which copies the context where the recording lives), and
the channel layer's ``send`` / ``group_send`` become ``channel`` spans (``lifecycle.instruments.channels``).
Messages from the channel layer (a ``group_send`` handled by ``chat_message``) are not traced.

Recording follows ``lifecycle.policy``: nothing while lifecycle is off (one settings read per message),
``RECORD_SAMPLE_RATE`` applies, ``IGNORE_PATHS`` are matched against the websocket path;
``RECORD_CALLBACK`` takes HTTP requests only and is not asked. A handler's exception leaves exactly as it
came, recorded as an ``exception`` span, and its trace is finished all the same. A failure of ours is
reported once (``lifecycle.safety``) and the consumer runs as without us.
"""

from __future__ import annotations

import copy
import functools
import random
from typing import Any

from lifecycle import conf, kinds, policy, redact
from lifecycle.instruments.channels import CONSUMER
from lifecycle.recorder import Recording, _recording, clear_current
from lifecycle.safety import report

__all__ = ["TracedConsumerMixin", "traced"]

TRACE_KIND = "websocket"
SPAN_KIND = CONSUMER.name
kinds.register(CONSUMER)  # described in traces even where LIFECYCLE["INSTRUMENTS"] leaves the instrument out
EVENTS: dict[str | None, str] = {
    "websocket.connect": "connect", "websocket.receive": "receive", "websocket.disconnect": "disconnect",
}


# -- opting in -------------------------------------------------------------------------------------------


class TracedConsumerMixin:
    """Trace this consumer's connect, each received frame and its disconnect (put it first in the bases)."""

    lifecycle_traced = True

    async def __call__(self, scope, receive, send):
        return await super().__call__(scope, receive, watch_send(send))  # type: ignore[misc]

    async def dispatch(self, message):
        return await traced_dispatch(self, message, super().dispatch)  # type: ignore[misc]


def traced(app: Any) -> Any:
    """A copy of the ASGI application ``app`` whose websocket consumers are traced (see the module doc)."""
    try:
        found: list[type] = []
        result = _walk(app, found, 0)
        if not found:
            report("tracing Channels consumers", ValueError(
                f"lifecycle.channels.traced() found no consumer in {app!r}: expected a URLRouter, Channels "
                "middleware around one, a ProtocolTypeRouter or a consumer's as_asgi() app"))
        return result
    except Exception as exc:
        report("tracing Channels consumers", exc)
        return app


def _walk(app: Any, found: list[type], depth: int) -> Any:
    if depth > 20:
        return app
    cls = getattr(app, "consumer_class", None)
    if isinstance(cls, type):
        if not getattr(cls, "lifecycle_traced", True):
            return app  # ours (the dashboard), or the site opted this consumer out
        found.append(cls)
        if issubclass(cls, TracedConsumerMixin):
            return app
        return _consumer_app(app, cls, getattr(app, "consumer_initkwargs", {}) or {})
    from channels.routing import ProtocolTypeRouter, URLRouter

    if isinstance(app, URLRouter):
        routes = []
        for route in app.routes:
            inner = _walk(route.callback, found, depth + 1)
            if inner is not route.callback:
                route = copy.copy(route)
                route.callback = inner
            routes.append(route)
        new = copy.copy(app)
        new.routes = routes
        return new
    if isinstance(app, ProtocolTypeRouter):
        new = copy.copy(app)
        new.application_mapping = dict(app.application_mapping)
        if "websocket" in new.application_mapping:
            new.application_mapping["websocket"] = _walk(new.application_mapping["websocket"], found, depth + 1)
        return new
    for name in ("inner", "application"):  # Channels' BaseMiddleware, OriginValidator
        inner = getattr(app, name, None)
        if inner is not None and callable(inner):
            new = copy.copy(app)
            setattr(new, name, _walk(inner, found, depth + 1))
            return new
    return app


def _consumer_app(app: Any, cls: type, initkwargs: dict[str, Any]) -> Any:
    """``cls.as_asgi(**initkwargs)``, with each instance's ``dispatch`` traced."""

    async def traced_app(scope, receive, send):
        consumer = cls(**initkwargs)
        untraced = consumer.dispatch
        consumer.dispatch = functools.partial(traced_dispatch, consumer, call=untraced)
        return await consumer(scope, receive, watch_send(send))

    functools.update_wrapper(traced_app, app, updated=())
    traced_app.consumer_class = cls  # type: ignore[attr-defined]
    traced_app.consumer_initkwargs = initkwargs  # type: ignore[attr-defined]
    return traced_app


# -- recording -------------------------------------------------------------------------------------------


async def traced_dispatch(consumer: Any, message: Any, call: Any) -> Any:
    """``await call(message)``: a traced one when ``message`` is a client event worth recording."""
    rec = _begin(consumer, message)
    if rec is None:
        return await call(message)
    try:
        result = await call(message)
    except BaseException as exc:
        _end(rec, exc)
        raise
    _end(rec, None)
    return result


def watch_send(send: Any) -> Any:
    """The ASGI ``send`` of a traced consumer: what the handler sends is noted on its trace's root span."""

    async def watched(message):
        rec = _recording.get()
        if rec is not None and rec.request_span.kind == SPAN_KIND:
            _note_sent(rec, message)
        return await send(message)

    return watched


def _note_sent(rec: Recording, message: Any) -> None:
    try:
        kind = message.get("type")
        attrs = rec.request_span.attrs
        if kind == "websocket.send":
            attrs["sent"] = attrs.get("sent", 0) + 1
        elif kind == "websocket.accept":
            attrs["accepted"] = True
        elif kind == "websocket.close":
            attrs["code"] = message.get("code", 1000)
            if attrs.get("event") == "connect":
                attrs.setdefault("accepted", False)
    except Exception as exc:
        report("noting what a consumer sent", exc)


def _ignored(path: str) -> bool:
    from lifecycle.live.routing import WS_PATH

    return path.startswith(("/" + WS_PATH, *conf.get("IGNORE_PATHS")))


def _begin(consumer: Any, message: Any) -> Recording | None:
    try:
        event = EVENTS.get(message.get("type")) if isinstance(message, dict) else None
        if event is None or not policy.enabled() or _recording.get() is not None:
            return None
        if not getattr(type(consumer), "lifecycle_traced", True):
            return None
        scope = getattr(consumer, "scope", None) or {}
        raw_path = scope.get("path") or ""
        if _ignored(raw_path):
            return None
        rate = policy.sample_rate()
        if rate < 1.0 and random.random() >= rate:
            return None
        from lifecycle.instruments import ensure_installed
        from lifecycle.live.publisher import get_publisher

        ensure_installed()
        publisher = get_publisher()
        publisher.bind_running_loop()
        path, secrets = _path(scope, raw_path)
        cls = type(consumer)
        attrs: dict[str, Any] = {"consumer": f"{cls.__module__}.{cls.__qualname__}", "path": path, "event": event}
        frame: bytes | None = None
        if event == "receive":
            text = message.get("text")
            frame = text.encode("utf-8", "replace") if text is not None else (message.get("bytes") or b"")
            attrs["size"] = len(frame)
        elif event == "disconnect":
            attrs["code"] = message.get("code")
        rec = Recording(
            SPAN_KIND, f"{event} {path}", attrs, max_spans=conf.get("MAX_SPANS"),
            listener=publisher.span_event if conf.get("LIVE_SPANS") and publisher.wanted() else None,
        )
        rec.trace.kind = TRACE_KIND
        rec.secrets.extend(secrets)
        rec.trace.request = _request_info(scope, path, event, frame)
        rec.trace.resolver = _resolver(scope, attrs["consumer"])
        publisher.trace_started(rec)
        rec.activate()
        return rec
    except Exception as exc:
        report("starting a consumer trace", exc)
        clear_current()
        return None


def _end(rec: Recording, exc: BaseException | None) -> None:
    try:
        from channels.exceptions import StopConsumer

        if exc is not None and not isinstance(exc, StopConsumer):  # StopConsumer: a normal disconnect
            from lifecycle.instruments.handler import record_exception

            record_exception(rec, exc)
    except Exception as err:
        report("recording a consumer's exception", err)
    try:
        rec.deactivate()
    except Exception as err:
        report("deactivating a consumer trace", err)
        clear_current()
    try:
        from lifecycle.middleware import hand_on

        rec.end(rec.request_span)
        hand_on(rec.finish(), rec.secrets)
    except Exception as err:
        report("finishing a consumer trace", err)


# -- what a trace keeps of the connection ----------------------------------------------------------------


def _path(scope: dict[str, Any], raw: str) -> tuple[str, list[str]]:
    """The path with secret-named URL arguments redacted: those of the site's URLconf (as for requests)
    and those the websocket router captured (``scope["url_route"]``)."""
    path, secrets = redact.paths.redact_with_values(raw)
    kwargs = (scope.get("url_route") or {}).get("kwargs") or {}
    values = list(redact.paths.secret_kwargs(kwargs).values())
    if values:
        path = redact.paths.replace_values(path, values)
    return path, [*secrets, *values]


def _request_info(scope: dict[str, Any], path: str, event: str, frame: bytes | None) -> dict[str, Any]:
    meta = {}
    for name, value in scope.get("headers") or ():
        try:
            key = "HTTP_" + name.decode("latin1").upper().replace("-", "_")
            meta[key] = value.decode("latin1")
        except Exception:
            continue
    query = scope.get("query_string") or b""
    info: dict[str, Any] = {
        "method": "WS",
        "path": path,
        "event": event,
        "query": redact.query_string(query.decode("latin1") if isinstance(query, bytes) else str(query)),
        "headers": redact.headers(meta),
        "body": None,
        "body_omitted": None,
        "content_type": "",
        "scheme": scope.get("scheme") or "ws",
        "user": _user(scope),
    }
    if frame:
        info["body"], info["body_omitted"] = redact.body(frame, "")
    return info


def _resolver(scope: dict[str, Any], consumer: str) -> dict[str, Any]:
    route = scope.get("url_route") or {}
    kwargs = route.get("kwargs") or {}
    secret = redact.paths.secret_kwargs(kwargs)
    return {
        "url_name": None, "namespace": "", "route": "", "view": consumer,
        "args": [str(a)[:200] for a in route.get("args") or ()],
        "kwargs": {str(k): conf.REDACTED if k in secret else str(v)[:200] for k, v in kwargs.items()},
    }


def _user(scope: dict[str, Any]) -> dict[str, Any] | None:
    """``scope["user"]`` if it is already resolved (Channels' ``AuthMiddleware`` does it before the
    consumer runs); a lazy user that is not is left alone: loading it would run queries of ours."""
    from lifecycle.capture import loaded_user

    return loaded_user(scope.get("user"))
