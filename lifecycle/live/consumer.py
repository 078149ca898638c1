"""The dashboard's websocket: access check, hello + backlog, then the live events of the group.

Protocol: ``docs/trace-format.md`` ("Websocket"). Close codes sent after accepting, so that the browser
sees them (a refusal before accepting reaches it only as an HTTP 403 and close code 1006):

- ``4403``: the access callback (``LIFECYCLE["ACCESS_CALLBACK"]``) refused this client, at connect or
  at a later check (every ``ACCESS_RECHECK`` seconds and at every ``backlog`` request); the close reason
  says which rule refused and how to allow it (``lifecycle.access.refused``; daphne does not send
  reasons, uvicorn does).

Where lifecycle is off (``lifecycle.policy.enabled``) the handshake is refused before accepting, as a
missing route would be: the browser learns nothing but a failed connection.
- ``4400``: cross-origin: a browser page whose ``Origin`` is not the dashboard's own origin nor one of
  ``ALLOWED_ORIGINS``. This does not depend on ALLOWED_HOSTS (``["*"]`` would let every site in).
- ``4429``: the client kept sending commands far over ``LIVE_CLIENT_RATE``.

What one connection may cost the server is bounded (:class:`Outbox`): at most ``LIVE_CLIENT_WINDOW``
frames are sent before the client acknowledges them; later batches wait, up to
``LIVE_CLIENT_QUEUE_BYTES``, and past that the oldest are dropped and counted in ``missed_events``, which
every ``events`` frame carries. Commands are rate-limited (:class:`RateLimit`); frames over
:data:`MAX_CLIENT_FRAME` characters get an error frame.

The channel layer can fail (Redis down): the consumer never crashes for it. It tells the client with a
``status`` frame, keeps the socket open, and probes the layer every ``ACCESS_RECHECK`` seconds until it
can join the group again.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any, Final

import orjson
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer

from lifecycle import conf, explain, kinds, policy, store
from lifecycle.access import AccessContext, fresh_scope, refused, websocket_origin_ok
from lifecycle.live.publisher import GROUP, get_publisher
from lifecycle.safety import report

CLOSE_FORBIDDEN = 4403
CLOSE_BAD_ORIGIN = 4400
CLOSE_FLOOD = 4429
MAX_CLIENT_FRAME = 4096
# 2: frames carry a seq the client acknowledges (the send window), status frames, missed_events.
PROTOCOL_VERSION = 2
# One frame merges queued batches up to this many bytes (a client catching up gets few large frames).
MERGE_BYTES = 512 * 1024
# How long joining the group may take before the layer counts as down.
LAYER_TIMEOUT = 3.0
PROBE = "lifecycle.probe"


async def backlog_rows() -> list[dict[str, Any]]:
    """``store.recent()``; read in a worker thread where the store reads a file or Redis (never on the loop)."""
    if not store.backend().shared:
        return store.recent()
    return await asyncio.to_thread(store.recent)


class RateLimit:
    """A token bucket: ``rate`` commands a second, bursts of ``2 * rate``.

    :meth:`take` says whether a command may run. A client that keeps sending far over the rate runs up a
    debt; :attr:`flooding` tells the consumer to close it."""

    def __init__(self, rate: float) -> None:
        self.rate = max(1.0, float(rate))
        self.burst = 2 * self.rate
        self.tokens = self.burst
        self.stamp = time.monotonic()
        self.refused = 0
        self.flooding = False

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1
        if self.tokens >= 0:
            return True
        self.refused += 1
        self.flooding = self.tokens < -10 * self.burst
        return False


class Outbox:
    """What is sent to one client, and what waits for it (see the module docstring).

    Items waiting are ``(events_json, count)`` batches, or :data:`BACKLOG` (built when it is sent, so a
    backlog asked for many times waits once and is current when it leaves)."""

    BACKLOG: Final = None

    def __init__(self, window: int, max_bytes: int) -> None:
        self.window = max(1, int(window))
        self.max_bytes = max(0, int(max_bytes))
        self.seq = 0          # the last frame sent
        self.acked = 0        # the last frame the client acknowledged
        self.waiting: deque[tuple[bytes, int] | None] = deque()
        self.waiting_bytes = 0
        self.missed = 0

    def ack(self, seq: int) -> None:
        if seq > self.acked:
            self.acked = min(seq, self.seq)

    def add(self, item: tuple[bytes, int] | None) -> None:
        if item is self.BACKLOG:
            if self.BACKLOG not in self.waiting:
                self.waiting.append(item)
            return
        self.waiting.append(item)
        self.waiting_bytes += len(item[0])
        while self.waiting_bytes > self.max_bytes:
            dropped = self._drop_oldest_batch()
            if dropped is None:
                break

    def _drop_oldest_batch(self) -> tuple[bytes, int] | None:
        for i, item in enumerate(self.waiting):
            if item is not self.BACKLOG:
                del self.waiting[i]
                self.waiting_bytes -= len(item[0])
                self.missed += item[1]
                return item
        return None

    def take(self) -> list[tuple[bytes, int]] | None:
        """The next frame's content: :data:`BACKLOG`, or batches merged up to :data:`MERGE_BYTES`."""
        first = self.waiting.popleft()
        if first is self.BACKLOG:
            return None
        self.waiting_bytes -= len(first[0])
        batches, size = [first], len(first[0])
        while self.waiting:
            item = self.waiting[0]
            if item is self.BACKLOG or size + len(item[0]) > MERGE_BYTES:
                break
            self.waiting.popleft()
            self.waiting_bytes -= len(item[0])
            size += len(item[0])
            batches.append(item)
        return batches

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


def close_reason(text: str) -> str:
    """``text`` cut to the 123 bytes of UTF-8 a websocket close frame has room for."""
    data = text.encode()
    if len(data) <= 123:
        return text
    return data[:120].decode(errors="ignore") + "..."


def merge_event_arrays(arrays: list[bytes]) -> bytes:
    """JSON arrays (orjson's compact output) joined into one array, without parsing them."""
    if len(arrays) == 1:
        return arrays[0]
    inner = [a[1:-1] for a in arrays if len(a) > 2]
    return b"[" + b",".join(inner) + b"]"


class DashboardConsumer(AsyncWebsocketConsumer):
    """Thin: everything it sends comes from the recent-trace store or the publisher's group messages."""

    lifecycle_traced = False  # never traced, even under lifecycle.channels.traced()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channel_layer_alias = conf.get("CHANNEL_LAYER")
        self.joined = False
        self.layer_state = "none"
        self.layer_error = ""
        self.closed = False
        self.greeted = False
        self.probes_out = 0
        self.channel_name: str | None = None
        self.watch_task: asyncio.Task | None = None
        self.backlog_task: asyncio.Task | None = None
        self.explain_task: asyncio.Task | None = None
        self.backlog_wanted = False
        # dropped_events per publishing process: each process counts its own.
        self.dropped_by_source: dict[str, int] = {}
        self.outbox = Outbox(conf.get("LIVE_CLIENT_WINDOW"), conf.get("LIVE_CLIENT_QUEUE_BYTES"))
        self.rate = RateLimit(conf.get("LIVE_CLIENT_RATE"))
        self.last_refusal_notice = 0.0

    # -- the connection ------------------------------------------------------------------------------

    async def __call__(self, scope, receive, send):
        # channels' AsyncConsumer.__call__, with one change: the layer is read through
        # receive_from_layer, so that a failing layer (Redis down) never ends the consumer with 1011.
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        sources = [receive]
        if self.channel_layer is not None:
            self.channel_name = None
            try:
                self.channel_name = await asyncio.wait_for(self.channel_layer.new_channel(), LAYER_TIMEOUT)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self.layer_down(exc)
            sources.append(self.receive_from_layer)
        try:
            await self.pump(sources)
        except StopConsumer:
            pass
        finally:
            self.closed = True
            for task in (self.watch_task, self.backlog_task, self.explain_task):
                if task is not None:
                    task.cancel()

    async def pump(self, sources) -> None:
        """Dispatch what each source gives, one message at a time, until one raises (StopConsumer).

        Unlike channels' ``await_many_dispatch`` (one message per turn of the event loop), a source's
        queued messages are taken without waiting: under daphne a flooding client's frames are read and
        queued as fast as they arrive, and one per turn would let millions pile up in the server before
        the rate limit's close."""
        lock = asyncio.Lock()

        async def drain(source) -> None:
            while True:
                message = await source()
                async with lock:
                    await self.dispatch(message)

        tasks = [asyncio.ensure_future(drain(source)) for source in sources]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def connect(self) -> None:
        if not policy.enabled():
            await self.close(code=CLOSE_FORBIDDEN)  # before accepting: a rejected handshake, nothing more
            return
        if not websocket_origin_ok(self.scope):
            await self.accept()
            await self.close(code=CLOSE_BAD_ORIGIN, reason="cross-origin connection refused")
            return
        reason = await database_sync_to_async(refused)(AccessContext.from_scope(self.scope), short=True)
        if reason is not None:
            await self.accept()
            await self.close(code=CLOSE_FORBIDDEN, reason=close_reason(reason))
            return
        publisher = get_publisher()
        # Our loop is where the in-memory layer's queues for this consumer live: publish on it.
        publisher.bind_loop(asyncio.get_running_loop(), strong=True)
        await self.accept()
        if self.channel_layer is not None:
            await self.join_group()
        hello = {"type": "hello", "version": PROTOCOL_VERSION, "dropped_events": publisher.dropped_events,
                 "window": self.outbox.window, "layer": self.layer_state, "kinds": kinds.describe()}
        if self.layer_error:
            hello["error"] = self.layer_error
        await self.send_json(hello)
        self.greeted = True
        await self.queue(Outbox.BACKLOG)
        self.watch_task = asyncio.get_running_loop().create_task(self.watch())

    async def disconnect(self, code: int) -> None:
        self.closed = True
        for task in (self.watch_task, self.backlog_task, self.explain_task):
            if task is not None:
                task.cancel()
        if self.joined:
            self.joined = False
            get_publisher().listeners -= 1
            try:
                await self.channel_layer.group_discard(GROUP, self.channel_name)
            except Exception as exc:
                report("leaving the dashboard group", exc)

    async def close(self, code=None, reason=None) -> None:
        self.closed = True
        await super().close(code=code, reason=reason)

    async def watch(self) -> None:
        """Every ``ACCESS_RECHECK`` seconds: is the viewer still allowed, is the layer reachable."""
        try:
            while not self.closed:
                await asyncio.sleep(max(0.05, float(conf.get("ACCESS_RECHECK"))))
                if self.closed:
                    return
                reason = await self.still_refused()
                if reason is not None:
                    await self.close(code=CLOSE_FORBIDDEN, reason=close_reason(reason))
                    return
                if self.channel_layer is not None:
                    await self.join_group(probe=True)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            report("watching a dashboard connection", exc)

    async def still_refused(self) -> str | None:
        """None while the viewer may stay, else the reason to close (lifecycle turned off, access lost)."""
        def check() -> str | None:
            if not policy.enabled():
                return "The lifecycle dashboard is off here."
            self.scope = fresh_scope(self.scope)
            return refused(AccessContext.from_scope(self.scope), short=True)

        try:
            return await database_sync_to_async(check)()
        except Exception as exc:
            report("checking dashboard access", exc)
            return "access refused"

    # -- the channel layer ---------------------------------------------------------------------------

    async def join_group(self, probe: bool = False) -> None:
        """(Re-)join the group: at connect, then at every check (a layer forgets members after its
        ``group_expiry``, and a Redis that was down has forgotten them). Tells the client when the
        layer goes down or comes back.

        With ``probe``, a message is also sent to our own channel and must come back before the next
        checks: joining alone proves nothing on ``RedisPubSubChannelLayer``, which does no I/O for a group
        it has subscribed to already, and whose reader reconnects quietly while Redis is away."""
        layer = self.channel_layer
        try:
            if self.channel_name is None:
                self.channel_name = await asyncio.wait_for(layer.new_channel(), LAYER_TIMEOUT)
            await asyncio.wait_for(layer.group_add(GROUP, self.channel_name), LAYER_TIMEOUT)
            if probe:
                if self.probes_out >= 2:
                    raise TimeoutError("messages sent through it do not come back")
                await asyncio.wait_for(layer.send(self.channel_name, {"type": PROBE}), LAYER_TIMEOUT)
                self.probes_out += 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.probes_out = 0
            await self.layer_down(exc)
            return
        if not self.joined:
            self.joined = True
            get_publisher().listeners += 1
        if self.layer_state == "none":
            self.layer_state = "up"
        # After an outage the layer is up again when our probe comes back (dispatch): a Redis that takes
        # commands again may not deliver yet (the subscriber reconnects on its own schedule).

    async def layer_up(self) -> None:
        if self.layer_state == "down":
            self.layer_state, self.layer_error = "up", ""
            await self.send_json({"type": "status", "layer": "up"})
            await self.queue(Outbox.BACKLOG)  # what finished while we heard nothing

    async def layer_down(self, exc: BaseException) -> None:
        report("the dashboard's channel layer", exc)
        if self.layer_state == "down":
            return
        self.layer_state = "down"
        self.layer_error = f"the channel layer is unreachable ({type(exc).__name__}: {exc})"[:300]
        if self.joined:
            self.joined = False
            get_publisher().listeners -= 1
        if self.greeted and not self.closed:  # before the hello, the hello says it
            try:
                await self.send_json({"type": "status", "layer": "down", "error": self.layer_error})
            except Exception as err:
                report("sending a status frame", err)

    async def receive_from_layer(self) -> dict[str, Any]:
        """channels' ``channel_receive``, surviving a failing layer: retried after each check."""
        while True:
            try:
                if self.channel_name is not None:
                    return await self.channel_layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self.layer_down(exc)
            await asyncio.sleep(max(0.05, float(conf.get("ACCESS_RECHECK"))))

    # -- sending -------------------------------------------------------------------------------------

    async def send_json(self, obj: Any) -> None:
        await self.send(text_data=orjson.dumps(obj).decode())

    async def queue(self, item: tuple[bytes, int] | None) -> None:
        """Send ``item`` now if the client's window is open, otherwise let it wait in the outbox."""
        self.outbox.add(item)
        await self.flush()

    async def flush(self) -> None:
        outbox = self.outbox
        while outbox.waiting and outbox.seq - outbox.acked < outbox.window and not self.closed:
            batches = outbox.take()
            if batches is None:
                await self.send_json({"type": "backlog", "seq": outbox.next_seq(), "traces": await backlog_rows()})
                continue
            events = merge_event_arrays([b for b, _ in batches])
            await self.send_json({"type": "events", "seq": outbox.next_seq(), "events": orjson.Fragment(events),
                                  "dropped_events": sum(self.dropped_by_source.values()),
                                  "missed_events": outbox.missed})

    async def send_error(self, error: str) -> None:
        await self.send_json({"type": "error", "error": error})

    # -- client frames -------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closed:
            return
        size = len(text_data) if text_data is not None else len(bytes_data or b"")
        message = None
        if size <= MAX_CLIENT_FRAME and text_data is not None:
            try:
                message = orjson.loads(text_data)
            except orjson.JSONDecodeError:
                pass
        # Acknowledgements are not commands: a dashboard sends one per frame it is given.
        if isinstance(message, dict) and message.get("type") == "ack" and type(message.get("seq")) is int:
            self.outbox.ack(message["seq"])
            return await self.flush()
        if not self.rate.take():
            if self.rate.flooding:
                await self.close(code=CLOSE_FLOOD, reason="too many messages")
                return
            now = time.monotonic()
            if now - self.last_refusal_notice >= 1.0:  # one notice a second, not one per frame
                self.last_refusal_notice = now
                await self.send_error(
                    f"rate limited: at most {self.rate.rate:g} commands a second "
                    f"(LIFECYCLE['LIVE_CLIENT_RATE']); {self.rate.refused} ignored so far")
            return
        if text_data is None:
            return await self.send_error("expected a text frame with a JSON object, got a binary frame")
        if size > MAX_CLIENT_FRAME:
            return await self.send_error(f"message too large: {size} characters > {MAX_CLIENT_FRAME}")
        if message is None:
            return await self.send_error("expected a JSON object, got text that is not JSON")
        if not isinstance(message, dict):
            return await self.send_error(f"expected a JSON object, got a JSON {type(message).__name__}")
        kind = message.get("type")
        if kind == "ack":
            await self.send_error(f"ack: expected an integer seq, got {message.get('seq')!r}")
        elif kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "backlog":
            self.want_backlog()
        elif kind == "explain":
            await self.want_explain(message)
        else:
            await self.send_error(f'unknown message type {kind!r}; expected "ping", "backlog", "explain" or "ack"')

    async def want_explain(self, message: dict[str, Any]) -> None:
        """``{"type": "explain", "trace": id, "span": n, "analyze": bool, "ref": r}``: EXPLAIN a recorded SELECT
        (``lifecycle.explain``, as the HTTP endpoint does) once access is checked again, answered by ``{"type":
        "explain", "ref": r, "status": 200, "result": {...}}`` or ``{..., "status": 4xx, "error": "..."}``. One
        at a time: it runs beside the reading of client frames."""
        ref = message.get("ref")
        if ref is not None and not (isinstance(ref, (int, str)) and len(str(ref)) <= 64):
            return await self.send_error("explain: ref must be a short string or integer")
        if not isinstance(message.get("trace"), str):
            return await self.send_error(f"explain: expected a trace id string, got {message.get('trace')!r}")
        if self.explain_task is not None and not self.explain_task.done():
            return await self.send_error("explain: one EXPLAIN at a time; wait for the answer to the last one")
        self.explain_task = asyncio.get_running_loop().create_task(self.serve_explain(message, ref))

    async def serve_explain(self, message: dict[str, Any], ref: Any) -> None:
        try:
            reason = await self.still_refused()
            if reason is not None:
                await self.close(code=CLOSE_FORBIDDEN, reason=close_reason(reason))
                return
            status, body = await database_sync_to_async(explain.answer)(
                message["trace"], message.get("span"), analyze=message.get("analyze") is True)
            if not self.closed:
                await self.send_json({"type": "explain", "ref": ref, "status": status,
                                      **({"error": body["error"]} if "error" in body else {"result": body})})
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            report("explaining a query", exc)

    def want_backlog(self) -> None:
        """Send a backlog once the viewer's access is checked again: a check that starts after this
        request. It runs beside the reading of client frames (which goes on meanwhile, rate limit
        included), and requests made while a check runs are answered by one more check and backlog."""
        self.backlog_wanted = True
        if self.backlog_task is None or self.backlog_task.done():
            self.backlog_task = asyncio.get_running_loop().create_task(self.serve_backlog())

    async def serve_backlog(self) -> None:
        try:
            while self.backlog_wanted and not self.closed:
                self.backlog_wanted = False
                reason = await self.still_refused()
                if reason is not None:
                    await self.close(code=CLOSE_FORBIDDEN, reason=close_reason(reason))
                    return
                if not self.closed:
                    await self.queue(Outbox.BACKLOG)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            report("sending a backlog", exc)

    # -- group messages ------------------------------------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections (a hop to a worker thread) before every handler.
        # Forwarding events and reading client frames never touch the database (the access check runs
        # in database_sync_to_async, which closes them itself), and they arrive many times a second, so
        # they skip that hop; every other message goes the usual way.
        kind = message.get("type")
        if kind == "lifecycle.events":
            await self.lifecycle_events(message)
            return
        if kind == "websocket.receive":
            # A client's frames: a flooding client sends thousands a second, and one thread hop each would
            # leave them queued in the server (unbounded) long after the rate limit should have closed it.
            await self.websocket_receive(message)
            return
        if kind == PROBE:
            self.probes_out = 0
            await self.layer_up()
            return
        await super().dispatch(message)

    async def lifecycle_events(self, message: dict[str, Any]) -> None:
        """A batch from a publisher (``lifecycle.live.publisher``), forwarded in an ``events`` frame.

        ``events_json`` is the batch already serialized: it is embedded as is, never parsed here."""
        if self.closed:
            return
        source = message.get("source")
        dropped = message.get("dropped_events")
        if isinstance(source, str) and isinstance(dropped, int):
            self.dropped_by_source[source] = dropped
        publisher = get_publisher()
        self.dropped_by_source[publisher.source] = publisher.dropped_events
        events = message.get("events_json")
        if not isinstance(events, bytes):
            return
        count = message.get("count")
        await self.queue((events, count if isinstance(count, int) else 1))
