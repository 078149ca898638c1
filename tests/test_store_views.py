"""The dashboard's endpoints and websocket backlog read the shared trace store: a trace recorded by another
server process is listed, served and downloaded; ``POST api/traces/clear/`` clears it for every process."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from lifecycle.store import RecentTraces
from lifecycle.stores.sqlite import SQLiteStore
from lifecycle.trace import Trace

INTERNAL = "127.0.0.1"
OUTSIDE = "203.0.113.9"
CLEAR = "/__lifecycle__/api/traces/clear/"
SAMPLE = Path(__file__).parent / "traces" / "book_list.json"

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(settings, tmp_path) -> Iterator[RecentTraces]:
    """This process on a SQLite store, and another "worker" (process) writing to the same file."""
    settings.DEBUG = True
    path = tmp_path / "traces.sqlite3"
    with override_settings(LIFECYCLE={"TRACE_STORE": "sqlite", "TRACE_STORE_OPTIONS": {"path": str(path)}}):
        other = RecentTraces(SQLiteStore(path=path))
        yield other
        other.backend.close()


def recorded_elsewhere(other: RecentTraces, trace_id: str = "0ther000000000001") -> str:
    trace = Trace.load(SAMPLE)
    trace.id = trace_id
    other.add(trace)
    assert other.flush(10)
    return trace_id


def test_a_trace_recorded_by_another_process_is_listed_served_and_downloaded(shared):
    trace_id = recorded_elsewhere(shared)
    client = Client(REMOTE_ADDR=INTERNAL)
    client.get("/t/queries/1/")  # and one of this process
    listed = client.get("/__lifecycle__/api/traces/").json()
    assert [row["path"] for row in listed["traces"]] == ["/t/queries/1/", "/books/"]
    assert listed["store"]["shared"] is True and "SQLite file" in listed["store"]["backend"]
    response = client.get(f"/__lifecycle__/api/traces/{trace_id}/")
    assert response.status_code == 200 and response.json()["request"]["path"] == "/books/"
    download = client.get(f"/__lifecycle__/api/traces/{trace_id}/?download=1")
    assert re.search(rf'filename="trace-20261125-015823-GET-books-{trace_id}\.json"', download["Content-Disposition"])


def test_an_unknown_trace_says_where_traces_are_kept(shared):
    error = Client(REMOTE_ADDR=INTERNAL).get("/__lifecycle__/api/traces/0123456789abcdef/").json()["error"]
    assert error.startswith("no trace '0123456789abcdef' in the trace store, the SQLite file ")
    assert "every process that shares it" in error


def test_with_the_memory_store_the_404_says_how_to_share_traces(settings):
    settings.DEBUG = True
    error = Client(REMOTE_ADDR=INTERNAL).get("/__lifecycle__/api/traces/0123456789abcdef/").json()["error"]
    assert "in this process's memory" in error and "'sqlite' or 'redis'" in error


def test_a_damaged_stored_trace_is_a_clear_error(shared):
    import sqlite3

    trace_id = recorded_elsewhere(shared)
    with sqlite3.connect(shared.backend.path) as conn:
        conn.execute("UPDATE traces SET data = '<html>' WHERE id = ?", (trace_id,))
    response = Client(REMOTE_ADDR=INTERNAL).get(f"/__lifecycle__/api/traces/{trace_id}/")
    assert response.status_code == 503
    assert re.match(rf"trace '{trace_id}' in the SQLite file .* is damaged: not valid JSON", response.json()["error"])


def test_clear_forgets_the_traces_of_every_process(shared):
    trace_id = recorded_elsewhere(shared)
    client = Client(REMOTE_ADDR=INTERNAL)
    client.get("/t/queries/1/")
    response = client.post(CLEAR)
    assert response.status_code == 200 and response.json() == {"cleared": True}
    assert client.get("/__lifecycle__/api/traces/").json()["traces"] == []
    assert client.get(f"/__lifecycle__/api/traces/{trace_id}/").status_code == 404
    assert shared.recent() == []  # the other process sees the clear too


def test_clear_needs_the_pages_csrf_token(shared):
    recorded_elsewhere(shared)
    client = Client(REMOTE_ADDR=INTERNAL, enforce_csrf_checks=True)
    refused = client.post(CLEAR)
    assert refused.status_code == 403 and refused.json()["error"].startswith("CSRF check failed")
    assert len(shared.recent()) == 1
    page = client.get("/__lifecycle__/").content.decode()
    config = json.loads(re.search(r'<script id="lifecycle-config" type="application/json">(.*?)</script>',
                                  page, re.S).group(1))
    assert client.post(CLEAR, headers={"X-CSRFToken": config["csrfToken"]}).status_code == 200
    assert shared.recent() == []


@pytest.mark.parametrize("who", ["anonymous outsider", "non-staff user", "another site's page"])
def test_clear_is_refused_to_whom_the_dashboard_is_refused(shared, who):
    recorded_elsewhere(shared)
    if who == "another site's page":
        response = Client(REMOTE_ADDR=INTERNAL).post(CLEAR, headers={"Origin": "https://evil.example",
                                                                     "Sec-Fetch-Site": "cross-site"})
        assert response.json() == {"error": "cross-origin request refused"}
    else:
        client = Client(REMOTE_ADDR=OUTSIDE)
        if who == "non-staff user":
            client.force_login(get_user_model().objects.create_user("someone", password="x"))
        response = client.post(CLEAR)
        assert "INTERNAL_IPS" in response.json()["error"]
    assert response.status_code == 403
    assert len(shared.recent()) == 1


def test_clear_takes_only_post(shared):
    client = Client(REMOTE_ADDR=INTERNAL)
    assert client.get(CLEAR).status_code == 405
    assert client.delete(CLEAR).status_code == 405
    assert client.post("/__lifecycle__/api/traces/").status_code == 405


@pytest.mark.django_db(transaction=True)
async def test_the_websocket_backlog_lists_the_other_processes_traces(shared):
    from asgiref.sync import sync_to_async
    from channels.testing import WebsocketCommunicator

    from demo_site.asgi import application

    trace_id = await sync_to_async(recorded_elsewhere)(shared)
    comm = WebsocketCommunicator(application, "/__lifecycle__/ws/",
                                 headers=[(b"host", b"testserver"), (b"origin", b"http://testserver")])
    comm.scope["client"] = ("127.0.0.1", 50000)
    ok, _ = await comm.connect()
    assert ok
    assert (await comm.receive_json_from())["type"] == "hello"
    backlog = await comm.receive_json_from()
    assert [row["id"] for row in backlog["traces"]] == [trace_id]
    await comm.disconnect()
