"""A FileResponse keeps the server's file-wrapper path (sendfile) with lifecycle, and its trace still
has a ``stream`` span that ends when the server has sent the last byte, under WSGI and ASGI."""

from __future__ import annotations

import asyncio
import io
import warnings
import wsgiref.util
from wsgiref import simple_server

import pytest
from asgiref.sync import async_to_sync
from django.core import signals
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import RequestFactory

from lifecycle import store
from tests import host_request_urls
from tests.conftest import assert_nested, last_trace
from tests.host_server import exchange, serving, wait_for_traces, without_lifecycle

pytestmark = pytest.mark.urls("tests.host_request_urls")
CONTENT = b"0123456789" * 2000


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "download.bin"
    path.write_bytes(CONTENT)
    return path


@pytest.fixture
def quiet_connections():
    """As in Django's own WSGI tests: the handler does not close the test's database connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_file_response_goes_through_wsgi_file_wrapper(db, quiet_connections, a_file):
    """Django's ``wsgi.tests.WSGITest.test_file_wrapper``, with and without lifecycle."""
    class FileWrapper:
        def __init__(self, filelike, blksize=8192):
            filelike.close()

    def call():
        environ = RequestFactory()._base_environ(PATH_INFO="/h/file/", QUERY_STRING=f"path={a_file}",
                                                 REQUEST_METHOD="GET", **{"wsgi.file_wrapper": FileWrapper})
        status = []
        response = WSGIHandler()(environ, lambda s, headers: status.append(s))
        return status[0], response

    with without_lifecycle():
        plain_status, plain = call()
    assert isinstance(plain, FileWrapper) and plain_status == "200 OK"
    status, response = call()
    assert status == plain_status
    assert isinstance(response, FileWrapper)
    trace = last_trace()  # the wrapper closed the file: Django made that the response's close
    assert trace.response["status"] == 200 and trace.response["streaming"] is True
    assert len([s for s in trace.spans if s.kind == "stream"]) == 1
    assert_nested(trace)


class SendfileHandler(simple_server.ServerHandler):
    """A server that sends files with sendfile (Django's ``builtin_server`` tests' FileWrapperHandler)."""

    used_sendfile = False

    def sendfile(self):
        self.used_sendfile = True
        return True

    def log_request(self, *args, **kwargs):
        pass


def test_a_file_response_sent_with_sendfile_is_closed_and_traced(db, quiet_connections, a_file):
    """Django's ``builtin_server`` ``test_file_response_closing`` shape, with and without lifecycle."""
    def run():
        handler = SendfileHandler(io.BytesIO(), io.BytesIO(), io.BytesIO(),
                                  RequestFactory().get("/h/file/", {"path": str(a_file)}).environ)
        handler.request_handler = handler
        handler.run(WSGIHandler())
        return handler.used_sendfile, handler.stderr.getvalue()

    with without_lifecycle():
        plain = run()
    assert plain == (True, b"")
    assert run() == plain
    trace = last_trace()  # the server closed the file wrapper: the response closed, the trace ended
    (stream,) = [s for s in trace.spans if s.kind == "stream"]
    assert stream.duration_ns is not None
    assert_nested(trace)


def served_results(app):
    """``app`` as a WSGI application, noting the type of each result it hands to the server."""
    types: list[type] = []

    def application(environ, start_response):
        result = app(environ, start_response)
        types.append(type(result))
        return result

    return application, types


def test_a_real_server_sends_a_file_response_through_its_file_wrapper(db):
    get = b"GET /h/noted-file/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    host_request_urls.finished_at_eof.clear()
    with without_lifecycle():
        app, plain_types = served_results(WSGIHandler())
        with serving(app) as address:
            plain = exchange(address, get)
    assert plain == (200, CONTENT) and plain_types == [wsgiref.util.FileWrapper]

    app, types = served_results(WSGIHandler())
    with serving(app) as address:
        assert exchange(address, get) == plain
        wait_for_traces(1)
    assert types == plain_types, "the file went to the server's wsgi.file_wrapper"
    assert host_request_urls.finished_at_eof == [0, 0], "the trace was still open when the file was read to its end"
    trace = last_trace()
    (stream,) = [s for s in trace.spans if s.kind == "stream"]
    (view,) = trace.spans_of("view")
    assert stream.start_ns >= view.start_ns + view.duration_ns
    assert_nested(trace)


def asgi_get(path: str) -> tuple[list[dict], list[str]]:
    """One GET through Django's ASGIHandler: the messages sent and the warnings raised (Django warns that
    it consumes a FileResponse's synchronous iterator in a thread)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    sent: list[dict] = []

    async def run():
        requested = False

        async def receive():
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.Event().wait()  # the client stays connected

        async def send(message):
            sent.append(message)

        await ASGIHandler()(scope, receive, send)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async_to_sync(run)()
    # A ResourceWarning here would be another test's garbage, collected now.
    return sent, sorted({str(w.message) for w in caught if not issubclass(w.category, ResourceWarning)})


def test_file_response_under_asgi_is_served_as_without_lifecycle_and_traced(db):
    host_request_urls.finished_at_eof.clear()
    with without_lifecycle():
        plain, plain_warnings = asgi_get("/h/noted-file/")
    assert store.size() == 0
    sent, got_warnings = asgi_get("/h/noted-file/")
    assert sent == plain and got_warnings == plain_warnings
    assert b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body") == CONTENT
    assert host_request_urls.finished_at_eof == [0, 0]
    trace = last_trace()
    assert trace.response["status"] == 200
    (stream,) = [s for s in trace.spans if s.kind == "stream"]
    assert stream.duration_ns is not None
    assert_nested(trace)


def test_a_response_class_with_its_own_content_setter_keeps_its_content(db):
    from django.test import Client

    def get():
        response = Client().get("/h/counted-stream/")
        content = b"".join(response.streaming_content)
        response.close()
        return content, response.times_set

    with without_lifecycle():
        plain = get()
    assert plain[0] == b"ab"
    assert get() == plain, "lifecycle never set its content"
    (stream,) = [s for s in last_trace().spans if s.kind == "stream"]
    assert stream.duration_ns is not None
