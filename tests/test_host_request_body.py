"""The site reads its own request first: the middleware reads nothing before the view, and the trace
keeps the body the site itself read (lifecycle.capture.add_body). Each probe runs the same request with
and without lifecycle and compares what the site does."""

from __future__ import annotations

import pytest
from django.http.request import RawPostDataException
from django.test import Client

from lifecycle import store
from tests.conftest import last_trace
from tests.host_server import exchange, serving, wait_for_traces, without_lifecycle

pytestmark = pytest.mark.urls("tests.host_request_urls")


def post_read_then_body(client: Client):
    return client.post("/h/read-then-body/", "some text", content_type="text/plain")


def test_request_body_after_read_raises_as_without_lifecycle(db):
    with without_lifecycle(), pytest.raises(RawPostDataException):
        post_read_then_body(Client())
    with without_lifecycle():
        plain = post_read_then_body(Client(raise_request_exception=False)).status_code
    store.clear()

    with pytest.raises(RawPostDataException):
        post_read_then_body(Client())
    assert post_read_then_body(Client(raise_request_exception=False)).status_code == plain == 500
    trace = last_trace()
    assert trace.response["status"] == 500
    (exception,) = trace.spans_of("exception")
    assert exception.attrs["type"] == "django.http.request.RawPostDataException"
    assert trace.request["body"] is None and trace.request["body_omitted"] == "read as a stream by the site"


def test_a_body_read_as_a_stream_is_the_sites_whole(db):
    payload = b"x=1&password=hunter2"
    with without_lifecycle():
        plain = Client().post("/h/streamed/", payload, content_type="text/plain").content
    assert plain == b"20 bytes"
    assert Client().post("/h/streamed/", payload, content_type="text/plain").content == plain
    request = last_trace().request
    assert request["body"] is None and request["body_omitted"] == "read as a stream by the site"


def test_a_body_the_site_never_read_is_not_read_and_the_trace_says_so(db):
    Client().post("/h/ignores-body/", {"user": "x"}, content_type="application/json")
    request = last_trace().request
    assert request["body"] is None and request["body_omitted"] == "not read by the site"
    Client().post("/h/ignores-body/", {"user": "x"})  # multipart, never parsed
    request = last_trace().request
    assert request["body_omitted"] == "not read by the site" and "form" not in request


@pytest.mark.parametrize("view", ["body", "form"])
def test_the_body_the_site_read_is_kept_redacted(db, view):
    response = Client().post(f"/h/{view}/", "name=dora&password=hunter2",
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert last_trace().request["body"] == "name=dora&password=********"


def test_a_multipart_body_keeps_the_fields_the_site_parsed(db):
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    data = encode_multipart(BOUNDARY, {"name": "dora", "password": "hunter2"})
    client = Client()
    client.generic("POST", "/h/body/", data, content_type=MULTIPART_CONTENT)  # read, never parsed
    request = last_trace().request
    assert request["body_omitted"] == "multipart" and request["form"] is None
    client.generic("POST", "/h/form/", data, content_type=MULTIPART_CONTENT)
    request = last_trace().request
    assert request["body_omitted"] == "multipart"
    assert request["form"] == {"name": ["dora"], "password": ["********"]}


def short_post(path: str) -> bytes:
    """A client that announces 100 bytes and sends 5, then waits for the answer."""
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
            f"Content-Length: 100\r\n\r\nhello").encode()


def test_a_short_body_does_not_hang_a_view_that_answers_without_reading(db):
    with without_lifecycle(), serving() as address:
        plain = exchange(address, short_post("/h/forbidden/"))
    assert plain == (403, b"no")
    with serving() as address:
        assert exchange(address, short_post("/h/forbidden/")) == plain
        wait_for_traces(1)
    trace = last_trace()
    assert trace.response["status"] == 403
    assert trace.request["body_omitted"] == "not read by the site"


def test_under_asgi_the_body_is_the_one_the_site_read(db):
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    async def post(path):
        return await AsyncClient().post(path, {"user": "x", "token": "t-1"}, content_type="application/json")

    assert async_to_sync(post)("/h/body/").status_code == 200
    assert last_trace().request["body"] == '{"user":"x","token":"********"}'
    assert async_to_sync(post)("/h/ignores-body/").status_code == 200
    assert last_trace().request["body_omitted"] == "not read by the site"
