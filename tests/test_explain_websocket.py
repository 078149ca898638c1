"""EXPLAIN over the dashboard's websocket: the same rules as the HTTP endpoint, access checked again."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test import Client

from lifecycle import store
from tests.test_consumers import communicator, connected

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sql_backends, pytest.mark.usefixtures("debug_on")]


def recorded_select() -> tuple[str, int, int]:
    assert Client().get("/t/queries/1/").status_code == 200
    trace = store.get(store.recent(1)[0]["id"])
    assert trace is not None
    select = next(s for s in trace.spans_of("sql") if s.attrs["sql"].startswith("SELECT"))
    return trace.id, select.id, 0


async def test_explain_over_the_websocket():
    trace_id, span_id, request_span = await sync_to_async(recorded_select)()
    comm = communicator()
    await connected(comm)
    await comm.send_json_to({"type": "explain", "trace": trace_id, "span": span_id, "ref": "a"})
    answer = await comm.receive_json_from(timeout=10)
    assert answer["type"] == "explain" and answer["ref"] == "a" and answer["status"] == 200, answer
    assert answer["result"]["vendor"] == connection.vendor and answer["result"]["rows"]
    await comm.send_json_to({"type": "explain", "trace": trace_id, "span": request_span, "ref": 2})
    answer = await comm.receive_json_from(timeout=10)
    assert answer == {"type": "explain", "ref": 2, "status": 400, "error": answer["error"]}
    assert "not a query" in answer["error"]
    await comm.send_json_to({"type": "explain", "trace": None})
    error = await comm.receive_json_from(timeout=10)
    assert error["type"] == "error" and "trace id" in error["error"]
    await comm.disconnect()
