"""The publisher: bounded, non-blocking, and on the right event loop."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from asgiref.sync import sync_to_async
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient, Client, override_settings

from demo_site.asgi import application
from lifecycle import safety, store
from lifecycle.live.publisher import BATCH_EVENTS, GROUP, MESSAGE_TYPE, Publisher, get_publisher, live_span
from lifecycle.recorder import Recording
from lifecycle.trace import Span


class RecordingLayer(BaseChannelLayer):
    """A cross-process-like layer (not in-memory) that keeps what it is asked to send, and where."""

    instances: list[RecordingLayer] = []
    fail = False
    # While set and not open, group_send holds the publisher's loop (a slow send), as LoopThread.hold does.
    gate: threading.Event | None = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sent: list[tuple[str, asyncio.AbstractEventLoop, dict]] = []
        self.delivered = threading.Event()
        RecordingLayer.instances.append(self)

    async def group_send(self, group: str, message: dict) -> None:
        if self.fail:
            raise ConnectionError("redis is down")
        if self.gate is not None:
            self.gate.wait()
        self.sent.append((threading.current_thread().name, asyncio.get_running_loop(), message))
        self.delivered.set()

    def events(self) -> list[dict]:
        return [e for _, _, m in self.sent for e in orjson.loads(m["events_json"])]


class LoopCheckingInMemoryLayer(InMemoryChannelLayer):
    """The in-memory layer, noting the loop of every group_send (it is only safe on the consumers' loop)."""

    loops: list[asyncio.AbstractEventLoop] = []

    async def group_send(self, group: str, message: dict) -> None:
        LoopCheckingInMemoryLayer.loops.append(asyncio.get_running_loop())
        await super().group_send(group, message)


class LoopThread:
    """An event loop running in its own thread, which the test can hold still (a busy server)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.gate = threading.Event()

    def hold(self) -> None:
        self.gate.clear()
        held = threading.Event()

        def block() -> None:
            held.set()
            self.gate.wait()  # no timeout: close() opens the gate whatever the test did

        self.loop.call_soon_threadsafe(block)
        assert held.wait(30), "the loop thread never ran the call that holds it"

    def release(self) -> None:
        self.gate.set()

    def run(self, coro, timeout: float = 5):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.gate.set()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.close()


RECORDING = {"default": {"BACKEND": "tests.test_publish.RecordingLayer"}}
CHECKING = {"default": {"BACKEND": "tests.test_publish.LoopCheckingInMemoryLayer"}}


@pytest.fixture(autouse=True)
def fresh(settings) -> Iterator[None]:
    settings.DEBUG = True
    publisher = get_publisher()
    publisher.reset()
    publisher.listeners = 0
    safety.reset()
    store.clear()
    RecordingLayer.instances.clear()
    RecordingLayer.fail = False
    RecordingLayer.gate = None
    LoopCheckingInMemoryLayer.loops.clear()
    yield
    if RecordingLayer.gate is not None:
        RecordingLayer.gate.set()
        RecordingLayer.gate = None
    publisher.listeners = 0
    publisher.reset()


def event(n: int) -> dict:
    return {"e": "span.end", "trace_id": "t", "span": {"id": n}}


def publisher_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "lifecycle-publisher"}


def test_a_full_queue_drops_the_oldest_and_counts_them(loop_thread):
    publisher = Publisher()
    layer = publisher.channel_layer()
    assert isinstance(layer, InMemoryChannelLayer)
    channel = loop_thread.run(layer.new_channel())
    loop_thread.run(layer.group_add(GROUP, channel))
    publisher.bind_loop(loop_thread.loop)
    publisher.listeners = 1
    loop_thread.hold()  # the server is busy: nothing drains until it is released
    with override_settings(LIFECYCLE={"PUBLISH_QUEUE_SIZE": 5, "PUBLISH_LINGER": 0}):
        for n in range(8):
            publisher.publish(event(n))
        assert publisher.stats()["queued"] == 5
        assert (publisher.published, publisher.dropped) == (8, 3)
        loop_thread.release()
        message = loop_thread.run(layer.receive(channel))
    assert message["type"] == MESSAGE_TYPE and message["count"] == 5
    assert [e["span"]["id"] for e in orjson.loads(message["events_json"])] == [3, 4, 5, 6, 7]
    assert message["dropped_events"] == 3
    assert publisher.stats()["queued"] == 0 and publisher.sent == 5
    loop_thread.run(layer.group_discard(GROUP, channel))


def test_many_threads_without_a_loop_neither_block_nor_grow():
    """In-memory layer and no event loop (WSGI): nobody can hear, so events are counted and let go."""
    publisher = Publisher()
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("lifecycle")
    logger.addHandler(handler)
    try:
        per_thread, threads = 5000, 8

        def hammer() -> None:
            for n in range(per_thread):
                publisher.publish(event(n))

        carriers_before = publisher_threads()
        workers = [threading.Thread(target=hammer) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)  # only detects a hang: how fast the calls return is measured in bench/
    finally:
        logger.removeHandler(handler)
    assert not [w for w in workers if w.is_alive()], "a publish call is still waiting"
    assert publisher.undeliverable == per_thread * threads
    assert publisher.stats()["queued"] == 0 and publisher.published == 0
    # Nothing was handed on: no publisher thread started, no drain scheduled that a caller could wait for.
    assert publisher_threads() <= carriers_before
    assert publisher.stats()["batches"] == publisher.sent == 0
    warnings = [r for r in records if "cannot reach the dashboard" in r.getMessage()]
    assert len(warnings) == 1


def test_a_stalled_loop_keeps_memory_bounded(loop_thread):
    """A loop that cannot drain (a stuck server) costs at most PUBLISH_QUEUE_SIZE events."""
    publisher = Publisher()
    publisher.bind_loop(loop_thread.loop)
    publisher.listeners = 1
    loop_thread.hold()
    with override_settings(LIFECYCLE={"PUBLISH_QUEUE_SIZE": 1000}):
        def hammer() -> None:
            for n in range(20000):
                publisher.publish(event(n))

        workers = [threading.Thread(target=hammer) for _ in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(10)
        stats = publisher.stats()
    assert stats["queued"] == 1000
    assert stats["published"] == 80000 and stats["dropped"] == 79000
    assert stats["dropped_events"] == 79000


def test_a_stopped_loop_is_passed_over():
    """asgiref never clears its threadlocal loop, tests leave loops behind: a loop that does not run
    would keep the drain pending for good, so it is not chosen."""
    publisher = Publisher()
    stopped = asyncio.new_event_loop()
    try:
        publisher.bind_loop(stopped)
        publisher.listeners = 1
        publisher.publish(event(1))
        assert publisher.undeliverable == 1 and publisher.stats()["queued"] == 0
    finally:
        stopped.close()


@override_settings(CHANNEL_LAYERS=RECORDING, LIFECYCLE={"PUBLISH_LINGER": 0.02})
def test_without_a_loop_a_cross_process_layer_gets_one_publisher_thread():
    publisher = Publisher()
    # The first send waits until every event is queued, so the batching does not depend on how fast the
    # workers run: what is queued meanwhile goes out in full batches (BATCH_EVENTS).
    RecordingLayer.gate = threading.Event()

    def hammer(base: int) -> None:
        for n in range(500):
            publisher.publish(event(base + n))

    workers = [threading.Thread(target=hammer, args=(i * 1000,)) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(10)
    assert not [w for w in workers if w.is_alive()], "a publish call is still waiting"
    assert publisher.published == 2000
    RecordingLayer.gate.set()
    layer = publisher.channel_layer()
    deadline = time.monotonic() + 30  # only detects events that never arrive
    while len(layer.events()) < 2000 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(layer.events()) == 2000
    assert {name for name, _, _ in layer.sent} == {"lifecycle-publisher"}
    assert len({loop for _, loop, _ in layer.sent}) == 1
    # At most one batch went out before the others were queued, then full ones: 1 + 2000 / 200.
    assert len(layer.sent) <= 1 + 2000 // BATCH_EVENTS, "events queued meanwhile should go out in batches"
    assert publisher.sent == 2000 and publisher.dropped_events == 0
    assert sum(t.name == "lifecycle-publisher" and t.daemon for t in threading.enumerate()) >= 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
@override_settings(CHANNEL_LAYERS=RECORDING, LIFECYCLE={"PUBLISH_LINGER": 0})
def test_the_publisher_thread_is_started_again_after_a_fork():
    publisher = get_publisher()
    publisher.publish(event(1))
    assert publisher.channel_layer().delivered.wait(5)
    pid = os.fork()
    if pid == 0:  # the child: the parent's thread is gone, a new one must carry the events
        code = 1
        try:
            child = get_publisher()
            layer = child.channel_layer()
            layer.sent.clear()  # the parent's, copied by the fork
            child.publish(event(2))
            deadline = time.monotonic() + 30  # only detects an event that never comes
            while not layer.events() and time.monotonic() < deadline:
                time.sleep(0.01)
            code = 0 if [e["span"]["id"] for e in layer.events()] == [2] else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@override_settings(CHANNEL_LAYERS=RECORDING, LIFECYCLE={"PUBLISH_LINGER": 0})
def test_a_failing_layer_is_counted_and_never_reaches_the_caller():
    RecordingLayer.fail = True
    publisher = Publisher()
    publisher.publish(event(1))
    deadline = time.monotonic() + 30  # only detects an event that never comes
    while not publisher.failed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert publisher.failed == 1 and publisher.dropped_events == 1
    assert safety.failures.get("sending events to the channel layer") == 1


@override_settings(LIFECYCLE={"CHANNEL_LAYER": None})
def test_no_channel_layer_means_no_broadcast():
    publisher = Publisher()
    publisher.listeners = 1
    assert not publisher.wanted()
    publisher.publish(event(1))
    stats = publisher.stats()
    assert stats["published"] == stats["queued"] == stats["dropped_events"] == 0


def test_nobody_listening_on_the_in_memory_layer_costs_nothing(loop_thread):
    publisher = Publisher()
    publisher.bind_loop(loop_thread.loop)
    assert not publisher.wanted()
    rec = Recording("request", "GET /", {}, listener=publisher.span_event)
    span, token = rec.push("view", "v", {})
    rec.pop(span, token)
    assert publisher.stats()["queued"] == 0 and publisher.dropped_events == 0


def test_trace_start_row_of_an_unfinished_trace():
    rec = Recording("request", "GET /x/", {"method": "GET", "path": "/x/"})
    rec.trace.request = {"method": "GET", "path": "/x/"}
    row = rec.trace.row()
    assert row["status"] is None and row["duration_ns"] is None and row["queries"] == 0
    assert row["path"] == "/x/" and row["id"] == rec.trace.id


def test_live_spans_carry_only_safe_attributes():
    sql = Span(3, 1, "sql", "SELECT 1", 10, None, {
        "sql": "SELECT * FROM t WHERE password = %s", "params": ["hunter2"], "alias": "default",
        "vendor": "sqlite", "many": False, "stack": (("f.py", 1, "f"),), "rows": 1})
    live = live_span(sql)
    assert live["attrs"] == {"sql": "SELECT * FROM t WHERE password = %s", "alias": "default",
                             "vendor": "sqlite", "many": False, "rows": 1}
    assert "hunter2" not in repr(live)
    cache = Span(4, 1, "cache", "get k", 10, 5, {"op": "get", "key": "k", "hit": True, "extra": {"x": 1}})
    assert live_span(cache)["attrs"] == {"op": "get", "key": "k", "hit": True}


def test_live_sql_spans_say_which_are_transaction_control():
    """BEGIN/COMMIT spans are marked when they open, savepoints after they end: both reach the dashboard."""
    begin = Span(5, 1, "sql", "BEGIN", 10, None, {"sql": "BEGIN", "alias": "default", "transaction": True})
    assert live_span(begin)["attrs"]["transaction"] is True
    savepoint = Span(6, 1, "sql", "SAVEPOINT", 10, 5, {"sql": 'SAVEPOINT "s1_x1"', "alias": "default"})
    assert live_span(savepoint)["attrs"]["transaction"] is True
    select = Span(7, 1, "sql", "SELECT", 10, 5, {"sql": "SELECT 1", "alias": "default"})
    assert "transaction" not in live_span(select)["attrs"]


async def test_sync_thread_with_no_bound_loop_uses_asgirefs_main_loop():
    """A sync_to_async worker thread finds the loop waiting for it (asgiref's threadlocal)."""
    with override_settings(CHANNEL_LAYERS=RECORDING, LIFECYCLE={"PUBLISH_LINGER": 0}):
        publisher = Publisher()
        loop = asyncio.get_running_loop()
        await sync_to_async(publisher.publish)(event(1))
        layer = publisher.channel_layer()
        for _ in range(100):
            if layer.sent:
                break
            await asyncio.sleep(0.01)
        assert [(name, lp) for name, lp, _ in layer.sent] == [(threading.current_thread().name, loop)]


@pytest.mark.django_db(transaction=True)
async def test_sync_views_in_worker_threads_publish_on_the_consumers_loop():
    """Requests in plain threads and in sync_to_async threads: every group_send runs on the loop the
    consumer lives on, which runs in asyncio debug mode (it raises on any non-thread-safe use)."""
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    with override_settings(CHANNEL_LAYERS=CHECKING):
        assert isinstance(get_channel_layer(), LoopCheckingInMemoryLayer)
        comm = WebsocketCommunicator(application, "/__lifecycle__/ws/", headers=[(b"origin", b"http://testserver"),
                                                                                  (b"host", b"testserver")])
        comm.scope["client"] = ("127.0.0.1", 1)
        assert (await comm.connect())[0]
        await comm.receive_json_from()
        await comm.receive_json_from()

        def in_plain_thread() -> None:
            from django.db import connection

            Client().get("/t/tagged/plain/")
            connection.close()

        thread = threading.Thread(target=in_plain_thread)
        thread.start()
        await AsyncClient().get("/t/tagged/async-client/")
        await loop.run_in_executor(None, thread.join, 5)
        ended: set[str] = set()
        while ended != {"/t/tagged/plain/", "/t/tagged/async-client/"}:
            frame = await comm.receive_json_from(timeout=5)
            await comm.send_json_to({"type": "ack", "seq": frame["seq"]})
            ended |= {e["row"]["path"] for e in frame["events"] if e["e"] == "trace.end"}
        await comm.disconnect()
    assert LoopCheckingInMemoryLayer.loops and set(LoopCheckingInMemoryLayer.loops) == {loop}
    assert not safety.failures


def test_publishing_never_waits_for_a_busy_loop(loop_thread):
    """With the loop blocked, 2000 events are queued by the caller alone: nothing waits for the loop.

    (Caller cost is measured in bench/, never asserted here.)
    """
    publisher = Publisher()
    publisher.bind_loop(loop_thread.loop)
    publisher.listeners = 1
    loop_thread.hold()
    rec = Recording("request", "GET /", {"method": "GET", "path": "/"})
    span = Span(1, 0, "sql", "SELECT 1", 5, 10, {"sql": "SELECT 1", "alias": "default", "rows": 1})
    for _ in range(2000):
        publisher.span_event("span.end", rec, span)
    assert publisher.published == 2000
    assert publisher.sent == 0, "the held loop sent nothing; every call returned without it"
