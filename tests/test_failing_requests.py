"""The failing requests are the ones traced best: each gets a finished trace with its status, its
exception and what could be known of its body, and the site fails exactly as without lifecycle."""

from __future__ import annotations

import logging

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client, RequestFactory

from lifecycle import store
from tests import host_request_urls
from tests.conftest import last_trace
from tests.host_server import without_lifecycle

pytestmark = pytest.mark.urls("tests.host_request_urls")


def test_a_multipart_form_the_view_filled_with_non_strings_keeps_its_trace(db):
    def post():
        return Client(raise_request_exception=False).post(
            "/h/continue-editing/", {"username": "dora", "password": "hunter2"})

    with without_lifecycle():
        plain = post().status_code
    assert post().status_code == plain == 500
    trace = last_trace()
    assert trace.response["status"] == 500
    assert trace.spans_of("exception")[0].attrs["type"] == "ValueError"
    assert trace.request["body_omitted"] == "multipart"
    assert trace.request["form"] == {"username": ["dora"], "password": ["********"], "_continue": ["1"],
                                     "ratio": ["0.5", "None", "<object>"]}


@pytest.mark.parametrize("view", ["form", "body"])
def test_a_request_rejected_as_too_big_has_a_trace(db, settings, view):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10

    def post():
        return Client().post(f"/h/{view}/", "title=" + "x" * 94, content_type="application/x-www-form-urlencoded")

    with without_lifecycle():
        plain = post()
    response = post()
    assert response.status_code == plain.status_code == 400
    trace = last_trace()
    assert trace.response["status"] == 400
    (exception,) = trace.spans_of("exception")
    assert exception.attrs["type"] == "django.core.exceptions.RequestDataTooBig"
    assert trace.request["body"] is None
    assert trace.request["body_omitted"] == "not read: Content-Length 100 > DATA_UPLOAD_MAX_MEMORY_SIZE 10"


class BrokenStream:
    """A client that went away mid-body: the server's input raises on read."""

    def read(self, *args):
        raise OSError("connection reset by peer")

    readline = read


@pytest.fixture
def direct_wsgi():
    """Calls of Django's WSGIHandler as a WSGI server makes them (without the test client's handler);
    like Django's own WSGI tests, the test's database connection is not closed at request end."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)

    def call(environ):
        status = []
        result = WSGIHandler()(environ, lambda s, headers, exc_info=None: status.append(s))
        body = b"".join(result)
        result.close()
        return status[0], body

    yield call
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def broken_post():
    return RequestFactory()._base_environ(
        PATH_INFO="/h/form/", REQUEST_METHOD="POST", CONTENT_TYPE="application/x-www-form-urlencoded",
        CONTENT_LENGTH="20", **{"wsgi.input": BrokenStream()})


def unreadable_logged(caplog) -> list[str]:
    return [type(r.exc_info[1]).__name__ for r in caplog.records if r.name == "django.request" and r.exc_info]


def test_a_broken_client_stream_fails_as_without_lifecycle_and_is_traced(db, direct_wsgi, caplog):
    caplog.set_level(logging.ERROR, logger="django.request")
    with without_lifecycle():
        plain_status, _ = direct_wsgi(broken_post())
    plain_logged = unreadable_logged(caplog)
    assert plain_status.startswith("500") and plain_logged == ["UnreadablePostError"]
    assert store.size() == 0
    caplog.clear()

    status, _ = direct_wsgi(broken_post())
    assert status == plain_status
    assert unreadable_logged(caplog) == plain_logged
    trace = last_trace()
    assert trace.response["status"] == 500
    (exception,) = trace.spans_of("exception")
    assert exception.attrs["type"] == "django.http.request.UnreadablePostError"
    assert exception.attrs["message"] == "connection reset by peer"
    assert trace.request["body"] is None and trace.request["body_omitted"] == "the site's read failed"


def test_a_recorded_exception_is_left_as_the_site_raised_it(db):
    host_request_urls.raised.clear()
    with without_lifecycle():
        Client(raise_request_exception=False).get("/h/raises/")
    Client(raise_request_exception=False).get("/h/raises/")
    plain, recorded = host_request_urls.raised
    assert vars(recorded) == vars(plain) == {}
    assert len(last_trace().spans_of("exception")) == 1, "seen by the view and by got_request_exception"
