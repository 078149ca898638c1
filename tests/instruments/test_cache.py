from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.core.cache import cache
from django.test import Client

from lifecycle.recorder import Recording
from tests.conftest import last_trace


def test_cache_calls_with_hit_and_miss(db):
    cache.delete("lifecycle-test-key")
    Client().get("/t/cache/")
    spans = last_trace().spans_of("cache")
    assert [(s.attrs["op"], s.attrs["key"], s.attrs["hit"]) for s in spans] == [
        ("get", "lifecycle-test-key", False),
        ("set", "lifecycle-test-key", None),
        ("get", "lifecycle-test-key", True),
    ]
    assert all(s.attrs["alias"] == "default" for s in spans)


@pytest.fixture
def recording():
    rec = Recording("block", "test")
    rec.activate()
    yield rec
    rec.deactivate()


def test_nested_calls_are_one_span(recording):
    cache.delete("gos")
    cache.get_or_set("gos", 5)
    cache.get_many(["gos", "missing"])
    spans = [s for s in recording.trace.spans if s.kind == "cache"]
    assert [(s.attrs["op"], s.attrs["hit"]) for s in spans][-3:] == [
        ("delete", None), ("get_or_set", False), ("get_many", True)
    ]
    assert spans[-1].attrs["key"] == "[gos, missing]"


def test_async_cache_api(recording):
    async def go():
        await cache.aset("async-key", 1)
        return await cache.aget("async-key")

    assert async_to_sync(go)() == 1
    spans = [s for s in recording.trace.spans if s.kind == "cache"]
    assert [(s.attrs["op"], s.attrs["hit"]) for s in spans] == [("aset", None), ("aget", True)]


def test_session_keys_are_redacted(recording):
    cache.get("django.contrib.sessions.cache4x2ksecretsessionkey")
    (span,) = [s for s in recording.trace.spans if s.kind == "cache"]
    assert "secretsessionkey" not in span.attrs["key"]
    assert "secretsessionkey" not in span.name
