"""Requests run in a fresh context (asgiref's ApplicationCommunicator, channels' HttpCommunicator, another
thread) while a ``lifecycle.record()`` block is open land in the block's trace, not in traces of their own."""

from __future__ import annotations

import threading

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from channels.testing import HttpCommunicator
from django.core.asgi import get_asgi_application
from django.test import Client

import lifecycle
from lifecycle import store
from lifecycle.recorder import current
from lifecycle.replay.client import _open

pytestmark = pytest.mark.django_db(transaction=True)


def block_requests(block) -> list[tuple[str, int | None]]:
    trace = block.result.trace
    return [(s.name, s.attrs["status"]) for s in trace.spans if s.kind == "request" and s.parent_id is not None]


def demo_application():
    from demo_site.asgi import application

    return application


async def http_get(application, path: str) -> dict:
    communicator = HttpCommunicator(application, "GET", path, headers=[(b"host", b"testserver")])
    return await communicator.get_response(timeout=10)


async def raw_get(path: str) -> list[dict]:
    """A request driven by hand through ApplicationCommunicator: the messages the application sent."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "path": path,
             "raw_path": path.encode(), "query_string": b"", "headers": [(b"host", b"testserver")],
             "scheme": "http", "server": ("testserver", 80), "client": ("127.0.0.1", 5000)}
    communicator = ApplicationCommunicator(get_asgi_application(), scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    messages = [await communicator.receive_output(10)]
    while messages[-1].get("more_body", messages[-1]["type"] == "http.response.start"):
        messages.append(await communicator.receive_output(10))
    await communicator.wait(10)
    return messages


def test_http_communicator_requests_join_the_block(tmp_path):
    async def browse():
        async with lifecycle.record(tmp_path / "communicator.json", record_mode="all") as block:
            first = await http_get(demo_application(), "/t/queries/2/")
            second = await http_get(demo_application(), "/t/queries/1/")
        return block, first, second

    block, first, second = async_to_sync(browse)()
    assert (first["status"], second["status"]) == (200, 200)
    assert block_requests(block) == [("GET /t/queries/2/", 200), ("GET /t/queries/1/", 200)]
    assert block.result.trace.summary["queries"] == 3
    assert block.result.trace.request["requests"] == 2
    assert store.size() == 0  # no trace of their own


def test_application_communicator_from_a_sync_block(tmp_path):
    with lifecycle.record(tmp_path / "raw.json", record_mode="all") as block:
        messages = async_to_sync(raw_get)("/t/queries/1/")
    assert messages[0]["status"] == 200
    assert block_requests(block) == [("GET /t/queries/1/", 200)]
    sql = [s for s in block.result.trace.spans if s.kind == "sql"]
    assert len(sql) == 1
    request_span = next(s for s in block.result.trace.spans if s.kind == "request" and s.parent_id is not None)
    assert request_span.parent_id == block.result.trace.spans[0].id
    assert store.size() == 0


def test_a_request_in_another_thread_joins_the_block(tmp_path):
    statuses = []
    with lifecycle.record(tmp_path / "thread.json", record_mode="all") as block:
        worker = threading.Thread(target=lambda: statuses.append(Client().get("/t/queries/2/").status_code))
        worker.start()
        worker.join(10)
    assert statuses == [200]
    assert block_requests(block) == [("GET /t/queries/2/", 200)]
    assert block.result.trace.summary["queries"] == 2


@pytest.mark.lifecycle_allow_n_plus_one("checks that nothing records it: the guard would")
def test_outside_a_block_each_communicator_request_is_its_own_trace(tmp_path):
    with lifecycle.record(tmp_path / "before.json", record_mode="all"):
        pass
    assert _open == []  # the block is forgotten once closed
    response = async_to_sync(http_get)(demo_application(), "/t/queries/2/")
    assert response["status"] == 200
    assert store.size() == 1
    assert current() is None


def test_the_joined_context_is_left_as_it_was(tmp_path):
    """The fresh context has no recording after the request: its next request outside the block is its own."""

    async def browse():
        async with lifecycle.record(tmp_path / "left.json", record_mode="all") as block:
            await http_get(demo_application(), "/t/queries/1/")
        after = await http_get(demo_application(), "/t/queries/1/")
        return block, after

    block, after = async_to_sync(browse)()
    assert after["status"] == 200
    assert block_requests(block) == [("GET /t/queries/1/", 200)]
    assert store.size() == 1


def test_nested_blocks_take_the_newest(tmp_path):
    with lifecycle.record(tmp_path / "outer.json", record_mode="all") as outer:
        with lifecycle.record(tmp_path / "inner.json", record_mode="all") as inner:
            async_to_sync(http_get)(demo_application(), "/t/queries/1/")
        async_to_sync(http_get)(demo_application(), "/t/queries/2/")
    assert block_requests(inner) == [("GET /t/queries/1/", 200)]
    assert block_requests(outer) == [("GET /t/queries/2/", 200)]
