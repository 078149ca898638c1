"""Cache spans tell hit from miss exactly (get_or_set, the async API, a stored None), and the wrapped
methods keep the shape of Django's (bound methods of the backend, same name and signature): Django 6.1's
async methods read ``self.get_many.__func__``."""

from __future__ import annotations

import inspect
import types

import django
import pytest
from asgiref.sync import async_to_sync
from django.core.cache import caches

from lifecycle.recorder import Recording

SENTINEL = object()


@pytest.fixture
def cache():
    # A backend of its own: django-debug-toolbar's cache panel leaves its plain-function wrappers on the
    # instances a toolbar test met (on Django 6.1 they break the async API by themselves, lifecycle or not).
    backend = caches.create_connection("default")
    backend.clear()
    yield backend
    backend.clear()


@pytest.fixture
def recording():
    rec = Recording("block", "test")
    rec.activate()
    yield rec
    rec.deactivate()


def _calls(rec):
    return [(s.attrs["op"], s.attrs["hit"]) for s in rec.trace.spans if s.kind == "cache"]


def test_get_or_set_records_miss_then_hit(cache, recording):
    assert cache.get_or_set("gos", 5) == 5
    assert cache.get_or_set("gos", 6) == 5
    assert _calls(recording) == [("get_or_set", False), ("get_or_set", True)]


def test_a_stored_none_read_with_a_sentinel_default_is_a_hit(cache, recording):
    cache.set("none", None)
    assert cache.get("none", SENTINEL) is None
    assert cache.get("absent", SENTINEL) is SENTINEL
    assert cache.get("absent") is None
    assert cache.get_or_set("none", 1) is None
    assert _calls(recording) == [("set", None), ("get", True), ("get", False), ("get", False), ("get_or_set", True)]


def test_async_reads_record_hit_or_miss(cache, recording):
    async def go():
        await cache.aset("k", 1)
        await cache.aset("none", None)
        return [
            await cache.aget("k"), await cache.aget("absent"), await cache.aget("none", SENTINEL),
            await cache.aget_or_set("k", 2), await cache.aget_or_set("new", 3),
            await cache.aget_many(["k", "absent"]), await cache.aget_many(["absent"]),
            await cache.ahas_key("k"), await cache.ahas_key("absent"),
        ]

    assert async_to_sync(go)() == [1, None, None, 1, 3, {"k": 1}, {}, True, False]
    assert _calls(recording) == [
        ("aset", None), ("aset", None), ("aget", True), ("aget", False), ("aget", True),
        ("aget_or_set", True), ("aget_or_set", False), ("aget_many", True), ("aget_many", False),
        ("ahas_key", True), ("ahas_key", False),
    ]


def _whole_async_api(cache):
    async def go():
        await cache.aset_many({"a": 1, "b": 2})
        got = await cache.aget_many(["a", "b", "c"])
        has = await cache.ahas_key("a")
        gos = await cache.aget_or_set("c", 10)
        up = await cache.aincr("a")
        down = await cache.adecr("b")
        await cache.aincr_version("a")
        await cache.adecr_version("a", version=2)
        await cache.adelete_many(["a", "b", "c"])
        return got, has, gos, up, down, await cache.aget_many(["a", "b", "c"])

    return async_to_sync(go)()


@pytest.mark.parametrize("recorded", [True, False], ids=["recording", "not-recording"])
def test_the_whole_async_api_works(cache, recorded):
    """Django 6.1 raised AttributeError "'function' object has no attribute '__func__'" here."""
    rec = Recording("block", "test")
    if recorded:
        rec.activate()
    try:
        result = _whole_async_api(cache)
    finally:
        if recorded:
            rec.deactivate()
    assert result == ({"a": 1, "b": 2}, True, 10, 2, 1, {})
    ops = [s.attrs["op"] for s in rec.trace.spans if s.kind == "cache"]
    assert ops == (["aset_many", "aget_many", "ahas_key", "aget_or_set", "aincr", "adecr", "aincr_version",
                    "adecr_version", "adelete_many", "aget_many"] if recorded else [])


def test_wrapped_methods_stay_bound_methods_of_the_backend():
    print(f"Django {django.get_version()}")
    # A backend of its own: the shared one may carry django-debug-toolbar's plain-function wrappers from
    # an earlier test (its cache panel patches the instances it sees), which ours then keep as they are.
    cache = caches.create_connection("default")
    cls = type(cache)
    for name in ("get", "get_many", "set_many", "has_key", "get_or_set", "incr", "delete_many",
                 "incr_version", "aget", "aget_many", "ahas_key"):
        method = getattr(cache, name)
        assert getattr(method, "_lifecycle_wrapped", False), name  # really ours
        assert isinstance(method, types.MethodType), name
        assert method.__self__ is cache, name
        assert method.__name__ == name and method.__qualname__ == getattr(cls, name).__qualname__
        assert inspect.signature(method) == inspect.signature(getattr(cls, name).__get__(cache)), name
        assert inspect.iscoroutinefunction(method) == name.startswith("a"), name
