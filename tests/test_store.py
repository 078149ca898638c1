"""The trace stores: SQLite (the default) and Redis are shared by processes and outlive them; bounds; damage.

A "worker" here is a :class:`lifecycle.store.RecentTraces` of its own (one per server process in real
life) over its own backend instance on the same file or Redis keys. Redis tests need ``REDIS_URL``
(``.ci/run`` sets it) and are skipped with the reason printed otherwise.
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from lifecycle import store
from lifecycle.store import RecentTraces
from lifecycle.stores import StoreError
from lifecycle.stores.memory import MemoryStore
from lifecycle.stores.sqlite import SQLiteStore
from lifecycle.trace import Trace
from tests.conftest import redis_url_or_skip

SAMPLE = Path(__file__).parent / "traces" / "book_list.json"
REDIS_URL = os.environ.get("REDIS_URL", "")


def sample(trace_id: str, path: str = "/books/") -> Trace:
    trace = Trace.load(SAMPLE)
    trace.id = trace_id
    trace.request["path"] = path
    return trace


def worker(backend) -> RecentTraces:
    return RecentTraces(backend)


def ids(traces: RecentTraces) -> list[str]:
    return [row["id"] for row in traces.recent()]


@pytest.fixture
def db_file(tmp_path) -> Path:
    return tmp_path / "traces.sqlite3"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    redis_url_or_skip("Redis store tests")
    import redis

    prefix = f"lifecycle-test:{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def redis_store(prefix: str, **kwargs):
    from lifecycle.stores.redis import RedisStore

    return RedisStore(url=REDIS_URL, prefix=prefix, **kwargs)


# -- SQLite ----------------------------------------------------------------------------------------------


def test_a_trace_is_seen_at_once_by_its_process_and_after_the_write_by_another(db_file):
    a, b = worker(SQLiteStore(path=db_file)), worker(SQLiteStore(path=db_file))
    a.add(sample("aaaa000000000001"))
    assert ids(a) == ["aaaa000000000001"]  # before the writer ran: from this process's memory
    assert a.flush(10)
    assert ids(b) == ["aaaa000000000001"]
    assert Trace.from_json(b.get_json("aaaa000000000001")).request["path"] == "/books/"


def test_traces_survive_a_restart(db_file):
    before = worker(SQLiteStore(path=db_file))
    for n in range(3):
        before.add(sample(f"bbbb00000000000{n}", f"/page/{n}/"))
    assert before.flush(10)
    before.backend.close()

    after = worker(SQLiteStore(path=db_file))  # a new process: nothing in memory
    assert [row["path"] for row in after.recent()] == ["/page/2/", "/page/1/", "/page/0/"]
    assert after.get("bbbb000000000001").request["path"] == "/page/1/"


def test_a_file_made_by_an_earlier_version_is_used_as_it_is(db_file, monkeypatch):
    """New files get larger pages; a file that an earlier version made (SQLite's default page size, traces in
    it) keeps its pages and its traces, and takes new ones."""
    from lifecycle.stores import sqlite as sqlite_store

    monkeypatch.setattr(sqlite_store, "PAGE_SIZE", 4096)
    before = worker(SQLiteStore(path=db_file))
    before.add(sample("cccc000000000001", "/old/"))
    assert before.flush(10)
    before.backend.close()
    monkeypatch.undo()

    after = worker(SQLiteStore(path=db_file))
    after.add(sample("cccc000000000002", "/new/"))
    assert after.flush(10)
    assert [row["path"] for row in worker(SQLiteStore(path=db_file)).recent()] == ["/new/", "/old/"]
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096


def test_a_new_file_has_the_page_size_that_keeps_a_trace_in_few_pages(tmp_path):
    from lifecycle.stores.sqlite import PAGE_SIZE

    traces = worker(SQLiteStore(path=tmp_path / "new.sqlite3"))
    traces.add(sample("dddd000000000001"))
    assert traces.flush(10)
    with sqlite3.connect(tmp_path / "new.sqlite3") as conn:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE > 4096
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_newest_recent_traces_of_all_processes_are_kept(db_file):
    with override_settings(LIFECYCLE={"RECENT_TRACES": 3}):
        a = worker(SQLiteStore(path=db_file, max_traces=3))
        b = worker(SQLiteStore(path=db_file, max_traces=3))
        for n in range(4):
            (a if n % 2 else b).add(sample(f"cccc00000000000{n}"))
            assert (a if n % 2 else b).flush(10)
        assert ids(a) == ids(b) == ["cccc000000000003", "cccc000000000002", "cccc000000000001"]
        assert a.recent(2) == b.recent(2) and len(a.recent(2)) == 2
        assert a.get_json("cccc000000000000") is None  # pushed out (b still has it in its own memory)
    rows = sqlite3.connect(db_file).execute("SELECT count(*) FROM traces").fetchone()[0]
    assert rows == 3


def test_traces_older_than_the_age_bound_are_gone(db_file):
    with override_settings(LIFECYCLE={"TRACE_MAX_AGE": 60}):
        a = worker(SQLiteStore(path=db_file, max_age=60))
        a.add(sample("dddd000000000001"))
        assert a.flush(10)
        # An hour passes: the stored trace is dated back rather than the test waiting.
        with sqlite3.connect(db_file) as conn:
            conn.execute("UPDATE traces SET added_at = added_at - 3600")
        b = worker(SQLiteStore(path=db_file, max_age=60))
        assert ids(b) == [] and b.get_json("dddd000000000001") is None
        b.add(sample("dddd000000000002"))
        assert b.flush(10)
    assert [r[0] for r in sqlite3.connect(db_file).execute("SELECT id FROM traces")] == ["dddd000000000002"]


def test_a_clear_in_one_process_clears_what_the_others_see(db_file):
    a, b = worker(SQLiteStore(path=db_file)), worker(SQLiteStore(path=db_file))
    a.add(sample("eeee000000000001"))
    assert a.flush(10)
    b.clear()
    assert ids(a) == ids(b) == []
    assert a.get_json("eeee000000000001") is None  # still in a's memory, hidden by the clear
    a.add(sample("eeee000000000002"))
    assert ids(a) == ["eeee000000000002"]


def test_a_damaged_row_is_left_out_and_damaged_data_is_a_clear_error(db_file):
    a = worker(SQLiteStore(path=db_file))
    a.add(sample("ffff000000000001"))
    a.add(sample("ffff000000000002"))
    assert a.flush(10)
    with sqlite3.connect(db_file) as conn:
        conn.execute("UPDATE traces SET row = x'00ff', data = 'not json' WHERE id = 'ffff000000000001'")
        conn.execute("UPDATE traces SET data = '[1, 2]' WHERE id = 'ffff000000000002'")
    b = worker(SQLiteStore(path=db_file))
    assert ids(b) == ["ffff000000000002"]
    with pytest.raises(StoreError, match=r"trace 'ffff000000000001' in the SQLite file .* damaged: not valid JSON"):
        b.get_json("ffff000000000001")
    with pytest.raises(StoreError, match=r"expected a lifecycle-trace JSON object, got list"):
        b.get_json("ffff000000000002")


def test_another_programs_file_is_never_used(tmp_path):
    other = tmp_path / "site.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE auth_user (id INTEGER)")
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database" * 100)
    for path, says in ((other, "is not a lifecycle trace store"), (junk, "cannot open the trace store")):
        with pytest.raises(StoreError, match=says):
            SQLiteStore(path=path).recent(10)
    assert sqlite3.connect(other).execute("SELECT name FROM sqlite_master").fetchall() == [("auth_user",)]


def test_a_failing_backend_never_fails_add_and_leaves_this_processs_traces(tmp_path, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the store's folder should be")
    a = worker(SQLiteStore(path=blocked / "traces.sqlite3"))
    row = a.add(sample("abab000000000001"))
    assert row["id"] == "abab000000000001"
    a.flush(10)
    assert a.backend.writer.failed == 1
    assert ids(a) == ["abab000000000001"]  # the read fails too (reported): this process's own are shown
    assert a.get_json("abab000000000001") is not None
    with pytest.raises(StoreError, match="cannot open the trace store"):
        a.get_json("someone-elses")


def test_a_full_writer_queue_drops_and_counts(db_file):
    backend = SQLiteStore(path=db_file, queue_size=2)
    a = worker(backend)
    with backend.writer.paused():  # the writer is busy (a slow disk)
        for n in range(5):
            a.add(sample(f"acac00000000000{n}"))
    assert a.flush(10)
    assert backend.writer.dropped >= 2
    assert len(ids(a)) == 5  # this process still has every one in memory


def test_the_memory_store_shares_nothing():
    a, b = worker(MemoryStore()), worker(MemoryStore())
    a.add(sample("adad000000000001"))
    assert ids(a) == ["adad000000000001"] and ids(b) == []


# -- the configured store --------------------------------------------------------------------------------


def test_the_settings_choose_the_store(db_file):
    with override_settings(LIFECYCLE={"TRACE_STORE": "sqlite", "TRACE_STORE_OPTIONS": {"path": str(db_file)}}):
        assert isinstance(store.backend(), SQLiteStore) and store.backend().path == db_file
        store.add(sample("aeae000000000001"))
        assert store.flush(10)
    assert sqlite3.connect(db_file).execute("SELECT id FROM traces").fetchall() == [("aeae000000000001",)]


def test_under_pytest_the_default_store_is_memory():
    from lifecycle.stores import selected

    with override_settings(LIFECYCLE={"TRACE_STORE": None}):
        assert selected() == "lifecycle.stores.memory.MemoryStore"  # a test run leaves the project's store alone


@pytest.fixture
def outside_pytest(monkeypatch):
    from lifecycle.replay import _pytest_state

    monkeypatch.setattr(_pytest_state, "running", False)


def test_the_default_store_is_a_sqlite_file_of_the_project_in_the_temp_folder(settings, outside_pytest):
    from lifecycle import conf
    from lifecycle.stores import selected
    from lifecycle.stores.sqlite import default_path

    with override_settings(LIFECYCLE={"TRACE_STORE": None}):
        assert conf.get("TRACE_STORE") is None
        assert selected() == "lifecycle.stores.sqlite.SQLiteStore"
        path = default_path()
        assert path.parent.parent == Path(__import__("tempfile").gettempdir())
        assert path.name.startswith(Path(settings.BASE_DIR).name + "-") and path.suffix == ".sqlite3"
        assert str(path) != str(settings.DATABASES["default"]["NAME"])


def test_with_a_redis_channel_layer_the_default_store_is_its_redis(outside_pytest):
    from lifecycle.stores import selected
    from lifecycle.stores.redis import channel_layer_url

    layers = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                          "CONFIG": {"hosts": ["redis://cache.internal:6380/2"]}}}
    with override_settings(CHANNEL_LAYERS=layers, LIFECYCLE={"TRACE_STORE": None}):
        assert selected() == "lifecycle.stores.redis.RedisStore"
        assert channel_layer_url() == "redis://cache.internal:6380/2"


def test_the_default_file_lies_in_a_folder_only_its_user_can_read(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    backend = SQLiteStore()
    folder = backend.path.parent
    assert folder.parent == tmp_path and folder.name.startswith("django-request-lifecycle-")
    worker(backend).add(sample("a1a1000000000001"))
    assert backend.flush(10)
    assert folder.stat().st_mode & 0o777 == 0o700
    backend.close()
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # a folder of that name made by another user is refused
        os.chown(folder, 12345, 12345)
        with pytest.raises(StoreError, match="belongs to another user"):
            SQLiteStore().recent(1)


@pytest.mark.parametrize(("value", "options", "says"), [
    ("lifecycle.stores.nope.Store", {}, "cannot be imported"),
    ("lifecycle.trace.Trace", {}, "expected a subclass of lifecycle.stores.TraceStore"),
    (42, {}, "must be None, one of 'memory', 'sqlite', 'redis'"),
    ("sqlite", {"file": "x"}, "does not suit SQLiteStore"),
    ("sqlite", ["path"], "must be a dict of keyword arguments"),
])
def test_a_bad_store_setting_is_reported_by_the_checks_and_traces_stay_in_memory(value, options, says):
    with override_settings(LIFECYCLE={"TRACE_STORE": value, "TRACE_STORE_OPTIONS": options}):
        errors = [e for e in run_checks() if e.id == "lifecycle.E010"]
        assert len(errors) == 1 and says in errors[0].msg, errors
        store.add(sample("afaf000000000001"))  # never fails the request
        assert [row["id"] for row in store.recent()] == ["afaf000000000001"]
        assert says in store.backend_error()


def test_a_bad_age_bound_is_reported():
    with override_settings(LIFECYCLE={"TRACE_MAX_AGE": "a week"}):
        errors = [e for e in run_checks() if e.id == "lifecycle.E003"]
    assert len(errors) == 1 and "TRACE_MAX_AGE" in errors[0].msg


# -- Redis -----------------------------------------------------------------------------------------------


@pytest.mark.redis
def test_two_workers_on_redis_see_each_others_traces(redis_prefix):
    a, b = worker(redis_store(redis_prefix)), worker(redis_store(redis_prefix))
    a.add(sample("baba000000000001", "/from/a/"))
    b.add(sample("baba000000000002", "/from/b/"))
    assert a.flush(10) and b.flush(10)
    assert ids(a) == ids(b) == ["baba000000000002", "baba000000000001"]
    assert a.get("baba000000000002").request["path"] == "/from/b/"
    assert b.get("baba000000000001").request["path"] == "/from/a/"
    a.clear()
    assert ids(b) == [] and b.get_json("baba000000000002") is None


@pytest.mark.redis
def test_redis_keeps_the_newest_and_drops_the_old(redis_prefix):
    a = worker(redis_store(redis_prefix, max_traces=2, max_age=60))
    for n in range(3):
        a.add(sample(f"bcbc00000000000{n}"))
        assert a.flush(10)
    b = worker(redis_store(redis_prefix, max_traces=2, max_age=60))
    assert ids(b) == ["bcbc000000000002", "bcbc000000000001"]
    assert b.get_json("bcbc000000000000") is None
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.zadd(f"{redis_prefix}:index", {"bcbc000000000001": time.time() - 3600})  # an hour old
    assert ids(b) == ["bcbc000000000002"] and b.get_json("bcbc000000000001") is None
    client.hset(f"{redis_prefix}:rows", "bcbc000000000002", b"{broken")
    client.hset(f"{redis_prefix}:data", "bcbc000000000002", b"{broken")
    assert ids(b) == []
    with pytest.raises(StoreError, match="damaged: not valid JSON"):
        b.get_json("bcbc000000000002")
    client.close()


def test_an_unreachable_redis_is_a_clear_error_and_never_fails_add():
    from lifecycle.stores.redis import RedisStore

    a = worker(RedisStore(url="redis://127.0.0.1:1/0"))  # nothing listens on port 1
    a.add(sample("bdbd000000000001"))
    a.flush(10)
    assert a.backend.writer.failed == 1
    assert ids(a) == ["bdbd000000000001"]
    with pytest.raises(StoreError, match=r"Redis at redis://127.0.0.1:1/0 .* failed: ConnectionError"):
        a.get_json("bdbd000000000002")
