"""Transactions are sql spans, in order with the queries, exactly as Django's own query log has them.

Each view runs under a real transaction (``transactional_db``): inside pytest-django's per-test atomic block
every ``atomic()`` would be a savepoint and nothing would ever commit. On SQLite Django sends ``BEGIN``
itself; on PostgreSQL it logs ``BEGIN`` when it turns autocommit off (psycopg sends it with the next
query). Either way the spans are compared with ``connection.queries`` under ``CaptureQueriesContext``.
"""

from __future__ import annotations

import logging
import re

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth.models import User
from django.db import connection, connections, transaction
from django.db.backends import utils
from django.db.backends.base import base
from django.http import HttpResponse
from django.test import AsyncClient, Client
from django.test.utils import CaptureQueriesContext
from django.urls import include, path

from lifecycle import safety
from lifecycle.instruments import install_all, transactions
from lifecycle.recorder import Recording, current
from tests.conftest import assert_nested, last_trace

pytestmark = [pytest.mark.urls(__name__), pytest.mark.sql_backends]

SAVEPOINT_WORDS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def nested_view(request):
    with transaction.atomic():
        User.objects.create(username="tx-outer")
        with transaction.atomic():
            User.objects.create(username="tx-inner")
    return HttpResponse(str(User.objects.filter(username__startswith="tx-").count()))


def failing_view(request):
    try:
        with transaction.atomic():
            User.objects.create(username="tx-failed")
            raise ValueError("undo")
    except ValueError:
        pass
    return HttpResponse(str(User.objects.filter(username="tx-failed").exists()))


def inner_failing_view(request):
    with transaction.atomic():
        User.objects.create(username="tx-kept")
        try:
            with transaction.atomic():
                User.objects.create(username="tx-undone")
                raise ValueError("undo the inner block")
        except ValueError:
            pass
    return HttpResponse(",".join(User.objects.filter(username__startswith="tx-").values_list("username", flat=True)))


def plain_view(request):
    User.objects.create(username="tx-plain")
    return HttpResponse("ok")


def other_alias_view(request):
    with transaction.atomic(using="other"):
        list(User.objects.using("other").all())
    return HttpResponse("ok")


def _async_work():
    with transaction.atomic():
        User.objects.create(username="tx-async")


async def async_view(request):
    await sync_to_async(_async_work)()
    return HttpResponse(str(await User.objects.filter(username="tx-async").acount()))


urlpatterns = [
    path("tx/nested/", nested_view),
    path("tx/failing/", failing_view),
    path("tx/inner-failing/", inner_failing_view),
    path("tx/plain/", plain_view),
    path("tx/other/", other_alias_view),
    path("tx/async/", async_view),
    path("", include("tests.urls")),
]


def statements(spans) -> list[str]:
    return [s.attrs["sql"] for s in spans]


def same(spans, logged: list[str]) -> bool:
    """The spans are the logged statements, in order: transaction control word for word (savepoint names
    included), queries up to their values (the log has the parameters interpolated)."""
    assert [shape(s.attrs["sql"]) for s in spans] == [shape(sql) for sql in logged]
    return True


def shape(sql: str) -> str:
    if is_control(sql):
        return sql
    return " ".join([sql.split()[0], *re.findall(r'(?:FROM|INTO|UPDATE|JOIN) ("\w+")', sql)])


def control_word(sql: str) -> str:
    """``SAVEPOINT "s1407_x2"`` -> ``SAVEPOINT``."""
    return re.sub(r' "?s\d+_x\d+"?$', "", sql)


def is_control(sql: str) -> bool:
    return sql.upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", *SAVEPOINT_WORDS))


def recorded(url: str, using: str = "default", client=None):
    """GET ``url``; the trace's sql spans of ``using`` and what Django's query log recorded meanwhile."""
    with CaptureQueriesContext(connections[using]) as captured:
        response = (client or Client()).get(url)
    assert response.status_code == 200
    trace = last_trace()
    spans = [s for s in trace.spans_of("sql") if s.attrs["alias"] == using]
    return response, trace, spans, [q["sql"] for q in captured.captured_queries]


@pytest.mark.django_db(transaction=True)
def test_nested_atomic_blocks_are_spans_in_order_with_the_queries():
    response, trace, spans, logged = recorded("/tx/nested/")
    assert response.content == b"2"
    assert same(spans, logged)
    words = [control_word(sql) for sql in statements(spans) if is_control(sql)]
    assert words == ["BEGIN", "SAVEPOINT", "RELEASE SAVEPOINT", "COMMIT"]
    for span in spans:
        assert span.attrs.get("transaction", False) is is_control(span.attrs["sql"]), span.attrs["sql"]
        assert span.attrs["alias"] == "default"
        assert span.attrs["vendor"] == connection.vendor
        assert span.duration_ns is not None
    starts = [s.start_ns for s in spans]
    assert starts == sorted(starts)
    commit = spans[statements(spans).index("COMMIT")]
    assert commit.attrs["params"] == []
    assert commit.attrs["rows"] is None
    assert "error" not in commit.attrs
    assert any(frame[0].endswith("test_transactions.py") for frame in commit.attrs["stack"])
    # Transaction control is never an N+1 or a duplicate group.
    assert [g["fingerprint"].split()[0] for g in trace.summary["duplicate_groups"]] == ["INSERT"]
    assert trace.summary["queries"] == len(logged)
    assert_nested(trace)


@pytest.mark.django_db(transaction=True)
def test_a_failing_block_is_rolled_back():
    response, trace, spans, logged = recorded("/tx/failing/")
    assert response.content == b"False"
    assert same(spans, logged)
    controls = [sql for sql in statements(spans) if is_control(sql)]
    assert controls == ["BEGIN", "ROLLBACK"]
    rollback = spans[statements(spans).index("ROLLBACK")]
    assert rollback.attrs["transaction"] is True
    # The insert it undid comes before it, the query after the block after it.
    assert statements(spans).index("ROLLBACK") == len(spans) - 2


@pytest.mark.django_db(transaction=True)
def test_a_failing_inner_block_rolls_back_to_its_savepoint():
    response, _trace, spans, logged = recorded("/tx/inner-failing/")
    assert response.content == b"tx-kept"
    assert same(spans, logged)
    controls = [control_word(sql) for sql in statements(spans) if is_control(sql)]
    assert controls == ["BEGIN", "SAVEPOINT", "ROLLBACK TO SAVEPOINT", "RELEASE SAVEPOINT", "COMMIT"]
    assert all(s.attrs["transaction"] for s in spans if is_control(s.attrs["sql"]))


@pytest.mark.django_db(transaction=True)
def test_atomic_requests_wrap_the_view_in_begin_and_commit(monkeypatch):
    monkeypatch.setitem(connections.settings["default"], "ATOMIC_REQUESTS", True)
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    _response, trace, spans, logged = recorded("/tx/plain/")
    assert same(spans, logged)
    assert statements(spans)[0] == "BEGIN"
    assert statements(spans)[-1] == "COMMIT"
    assert 'INSERT INTO "auth_user"' in statements(spans)[1]
    assert_nested(trace)


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_every_connection_is_seen():
    _response, _trace, spans, logged = recorded("/tx/other/", using="other")
    assert same(spans, logged)
    assert statements(spans)[0] == "BEGIN" and statements(spans)[-1] == "COMMIT"
    assert {s.attrs["vendor"] for s in spans} == {"sqlite"}


@pytest.mark.django_db(transaction=True)
def test_async_view_transaction_in_a_worker_thread():
    with CaptureQueriesContext(connection) as captured:
        response = async_to_sync(AsyncClient().get)("/tx/async/")
    assert response.content == b"1"
    spans = last_trace().spans_of("sql")
    logged = [q["sql"] for q in captured.captured_queries]
    assert same(spans, logged)
    assert [s for s in statements(spans) if is_control(s)] == ["BEGIN", "COMMIT"]


@pytest.mark.django_db(transaction=True)
def test_outside_a_trace_django_logs_the_commit_and_nothing_is_recorded():
    install_all()
    assert current() is None
    with CaptureQueriesContext(connection) as captured:
        with transaction.atomic():
            User.objects.create(username="tx-untraced")
    assert captured.captured_queries[-1]["sql"] == "COMMIT"
    assert User.objects.filter(username="tx-untraced").exists()
    assert current() is None


@pytest.mark.django_db
def test_the_statement_keeps_its_exception_and_djangos_log():
    install_all()
    rec = Recording("request", "test")
    rec.activate()
    try:
        with CaptureQueriesContext(connection) as captured:
            with pytest.raises(KeyError, match="from the driver"):
                with base.debug_transaction(connection, "COMMIT"):
                    raise KeyError("from the driver")
    finally:
        rec.deactivate()
    (span,) = [s for s in rec.trace.spans if s.kind == "sql"]
    assert span.attrs["sql"] == "COMMIT"
    assert span.attrs["error"] == "KeyError: 'from the driver'"
    assert span.duration_ns is not None
    assert captured.captured_queries[-1]["sql"] == "COMMIT"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fault", ["begin", "end", "frames"])
def test_a_failing_recorder_leaves_the_commit_alone(monkeypatch, caplog, fault):
    install_all()
    safety.reset()

    def broken(*args, **kwargs):
        raise RuntimeError("recorder down")

    if fault == "frames":
        monkeypatch.setattr(transactions, "user_frames", broken)
    else:
        original = getattr(Recording, fault)

        def broken_for_transactions(self, *args, **kwargs):
            span = args[0] if args else None
            if (fault == "begin" and args[1:2] in (("BEGIN",), ("COMMIT",))) or (
                fault == "end" and getattr(span, "attrs", {}).get("transaction")
            ):
                raise RuntimeError("recorder down")
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Recording, fault, broken_for_transactions)
    with caplog.at_level(logging.WARNING, logger="lifecycle"):
        response = Client().get("/tx/nested/")
    monkeypatch.undo()
    assert response.status_code == 200
    assert response.content == b"2"
    assert User.objects.filter(username__startswith="tx-").count() == 2
    assert safety.failures.get("transaction instrument", 0) >= 1
    safety.reset()


def test_install_and_uninstall_are_idempotent():
    install_all()
    transactions.install()
    assert base.debug_transaction is transactions.debug_transaction
    assert utils.debug_transaction is transactions.debug_transaction
    original = transactions._original
    transactions.uninstall()
    transactions.uninstall()
    try:
        assert base.debug_transaction is original
        assert utils.debug_transaction is original
        assert not hasattr(base.BaseDatabaseWrapper._savepoint, "lifecycle_original")
    finally:
        transactions.install()
    assert base.debug_transaction is transactions.debug_transaction
