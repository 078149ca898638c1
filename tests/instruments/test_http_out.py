"""Outbound HTTP: real calls with urllib, urllib3, requests and httpx to a server the tests start.

The calls are made by views of the test app (``/t/http/<library>/?url=...``) inside recorded requests,
and by test code inside ``lifecycle.record()``. Nothing of the HTTP libraries is mocked.
"""

from __future__ import annotations

import http.client
import inspect
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import quote, urlsplit

import jsonschema
import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client, override_settings

import lifecycle
from lifecycle import safety
from lifecycle.instruments import http_out, install_all
from lifecycle.instruments.http_out import record, stdlib
from tests.conftest import assert_nested, last_trace

LIBRARIES = [
    pytest.param(name, marks=pytest.mark.skipif(find_spec(module) is None, reason=f"{module} is not installed"))
    for name, module in (("urllib", "urllib"), ("urllib3", "urllib3"), ("requests", "requests"), ("httpx", "httpx"))
]
VIEWS = Path(__file__).resolve().parent.parent / "testapp" / "views.py"
SCHEMA = json.loads((Path(lifecycle.__file__).parent / "schema" / "trace-v1.json").read_text())
BIG = 1024 * 1024


class Handler(BaseHTTPRequestHandler):
    """/ok, /slow?ms=N, /fail (500), /redirect (302 to /ok), /big (1 MiB), /chunked (no Content-Length),
    POST /echo (reads the body)."""

    protocol_version = "HTTP/1.1"

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == "/slow":
            time.sleep(int(query.partition("ms=")[2] or 100) / 1000)
            self._send(200, b"slow")
        elif path == "/fail":
            self._send(500, b"boom")
        elif path == "/redirect":
            self._send(302, b"", {"Location": "/ok"})
        elif path == "/big":
            self._send(200, b"b" * BIG)
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in (b"abc", b"defg"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self._send(200, b"hello")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(200, b"ok")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.block_on_close = False  # a /slow handler still sleeping does not hold the tests up
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def refusing():
    """A port bound but not listening: connecting to it is refused at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def call(library: str, url: str, **params) -> dict:
    """Request the test app's view that calls ``url`` with ``library``: what the view's code got."""
    query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in {"url": url, **params}.items())
    if library == "httpx-async":
        response = async_to_sync(AsyncClient().get)(f"/t/http/async/?{query}")
    else:
        response = Client().get(f"/t/http/{library}/?{query}")
    assert response.status_code == 200
    return response.json()


def http_spans(trace) -> list:
    return [s for s in trace.spans if s.kind == "http_out"]


def view_line(marker: str) -> int:
    for number, line in enumerate(VIEWS.read_text().splitlines(), 1):
        if f"# {marker}" in line:
            return number
    raise AssertionError(marker)


def outside_a_trace(library: str, url: str) -> str:
    """The type of the exception the same call raises with nothing recorded."""
    from tests.testapp.views import fetch

    with pytest.raises(Exception) as info:
        fetch(library, url, 0.2, None)
    return f"{type(info.value).__module__}.{type(info.value).__qualname__}"


# -- each library, through a view --------------------------------------------------------------------------


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_call_from_a_view_is_one_span_with_its_line(server, library):
    assert call(library, f"{server}/ok") == {"status": 200, "size": 5}
    trace = last_trace()
    [span] = http_spans(trace)  # requests over urllib3 over http.client: one span, the outermost's
    port = urlsplit(server).port
    assert span.name == f"GET 127.0.0.1:{port}/ok"
    attrs = span.attrs
    assert {k: attrs[k] for k in ("method", "url", "status", "library", "response_size")} == {
        "method": "GET", "url": f"{server}/ok", "status": 200, "library": library, "response_size": 5}
    assert "error" not in attrs
    assert attrs["stack"][0] == ["tests/testapp/views.py", view_line(f"FETCH-{library.upper()}"), "fetch"]
    by_id = {s.id: s for s in trace.spans}
    assert by_id[span.parent_id].kind == "view"
    assert trace.summary["counts"]["http_out"] == 1 and trace.summary["time_ns"]["http_out"] > 0
    assert_nested(trace)


def test_httpx_async_from_an_async_view(server):
    if find_spec("httpx") is None:
        pytest.skip("httpx is not installed")
    assert call("httpx-async", f"{server}/ok") == {"status": 200, "size": 5}
    [span] = http_spans(last_trace())
    assert span.attrs["library"] == "httpx" and span.attrs["status"] == 200
    assert span.attrs["stack"][0] == ["tests/testapp/views.py", view_line("FETCH-HTTPX-ASYNC"), "http_call_async"]
    assert span.duration_ns is not None


@pytest.mark.parametrize("library", LIBRARIES)
def test_sizes_of_a_post_and_a_big_answer(server, library):
    assert call(library, f"{server}/echo", body=1000) == {"status": 200, "size": 2}
    [span] = http_spans(last_trace())
    assert (span.attrs["method"], span.attrs["request_size"], span.attrs["response_size"]) == ("POST", 1000, 2)

    assert call(library, f"{server}/big") == {"status": 200, "size": BIG}
    [span] = http_spans(last_trace())
    assert span.attrs["response_size"] == BIG


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_body_without_length_is_counted_only_once_read_by_the_library(server, library):
    assert call(library, f"{server}/chunked") == {"status": 200, "size": 7}
    [span] = http_spans(last_trace())
    if library != "urllib":  # read by the library before the call returns (urllib3: preload_content)
        assert span.attrs["response_size"] == 7
    else:  # read by the caller after the span: never read by us
        assert "response_size" not in span.attrs


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_server_error_is_a_status_not_an_error(server, library):
    assert call(library, f"{server}/fail") == {"status": 500, "size": 4}
    [span] = http_spans(last_trace())
    assert span.attrs["status"] == 500 and "error" not in span.attrs


@pytest.mark.parametrize("library", LIBRARIES)
def test_redirects(server, library):
    if library == "urllib3":  # retries=False: urllib3 hands the 302 back
        assert call(library, f"{server}/redirect") == {"status": 302, "size": 0}
    else:
        assert call(library, f"{server}/redirect") == {"status": 200, "size": 5}
    spans = http_spans(last_trace())
    shown = [(s.name.split("/", 1)[1], s.attrs["status"], s.attrs.get("redirects")) for s in spans]
    if library == "urllib":  # urllib makes a second request for the redirect: a span per hop
        assert shown == [("redirect", 302, None), ("ok", 200, None)]
    elif library == "urllib3":
        assert shown == [("redirect", 302, None)]
    else:  # one call that followed one redirect
        assert shown == [("redirect", 200, 1)]
    jsonschema.validate(json.loads(last_trace().to_json()), SCHEMA)


@pytest.mark.parametrize("library", [*LIBRARIES, pytest.param("httpx-async", marks=LIBRARIES[-1].marks)])
def test_a_refused_connection_is_an_error_on_the_span_and_the_callers_exception(refusing, library):
    got = call(library, f"{refusing}/ok")
    assert got["error"] == outside_a_trace("httpx" if library == "httpx-async" else library, f"{refusing}/ok")
    [span] = http_spans(last_trace())
    assert span.attrs["status"] is None
    if library == "urllib":  # the seam sees the socket's own error; urllib wraps it in URLError for the caller
        assert span.attrs["error"].startswith("ConnectionRefusedError: ") and "cause" not in span.attrs
    else:  # what the caller got, and what went wrong on the wire
        assert span.attrs["error"].startswith(got["error"].rpartition(".")[2] + ": ")
        assert span.attrs["cause"].startswith("ConnectionRefusedError: "), span.attrs
    assert span.duration_ns is not None
    jsonschema.validate(json.loads(last_trace().to_json()), SCHEMA)


@pytest.mark.parametrize("library", [*LIBRARIES, pytest.param("httpx-async", marks=LIBRARIES[-1].marks)])
def test_a_timeout_is_an_error_on_the_span(server, library):
    got = call(library, f"{server}/slow?ms=1500", timeout=0.2)
    assert got["error"] == outside_a_trace("httpx" if library == "httpx-async" else library,
                                           f"{server}/slow?ms=1500")
    [span] = http_spans(last_trace())
    assert span.attrs["status"] is None
    assert "timed out" in span.attrs["error"].lower() or "timeout" in span.attrs["error"].lower()


# -- redaction ---------------------------------------------------------------------------------------------


def test_the_url_keeps_no_password_nor_secret_query_value():
    assert http_out.describe("GET", "https://user:pw@host/?token=x&page=2") == (
        "GET host/", "https://user:********@host/?token=********&page=2")
    assert http_out.describe("POST", "http://example.com:8080/api/v1?api_key=k#frag") == (
        "POST example.com:8080/api/v1", "http://example.com:8080/api/v1?api_key=********#frag")


@pytest.mark.parametrize("library", LIBRARIES)
def test_secrets_in_a_called_url_never_reach_the_trace(server, library):
    netloc = urlsplit(server).netloc
    url = f"http://someone:s3cr3t-pass@{netloc}/ok?token=t0p-s3cret-t0ken&page=2"
    got = call(library, url)
    trace = last_trace()
    data = trace.to_json().decode()
    assert "s3cr3t-pass" not in data and "t0p-s3cret-t0ken" not in data
    [span] = http_spans(trace)
    assert span.attrs["url"].endswith(f"{netloc}/ok?token=********&page=2")
    if library in ("requests", "httpx"):  # urllib3 and http.client never see the userinfo of the URL
        assert got == {"status": 200, "size": 5}
        assert span.attrs["url"] == f"http://someone:********@{netloc}/ok?token=********&page=2"


# -- lifecycle.record() ------------------------------------------------------------------------------------


def test_calls_made_by_test_code_inside_a_record_block(server, tmp_path, db):
    import urllib.request

    with lifecycle.record(tmp_path / "calls.json", record_mode="all") as block:
        with urllib.request.urlopen(f"{server}/ok?page=1") as response:  # RECORD-CALL
            assert response.read() == b"hello"
        assert Client().get(f"/t/http/urllib/?url={quote(server + '/big', safe='')}").status_code == 200
    trace = block.result.trace
    spans = http_spans(trace)
    assert [s.attrs["url"] for s in spans] == [f"{server}/ok?page=1", f"{server}/big"]
    by_id = {s.id: s for s in trace.spans}
    assert by_id[spans[0].parent_id].kind == "block"
    assert by_id[spans[1].parent_id].kind == "view"
    line = next(n for n, text in enumerate(Path(__file__).read_text().splitlines(), 1) if "# RECORD-CALL" in text)
    assert spans[0].attrs["stack"][0] == ["tests/instruments/test_http_out.py", line,
                                          "test_calls_made_by_test_code_inside_a_record_block"]
    assert trace.summary["counts"]["http_out"] == 2
    jsonschema.validate(json.loads((tmp_path / "calls.json").read_text()), SCHEMA)  # the file written


@override_settings(LIFECYCLE={"STACK_DEPTH": 0})
def test_stack_depth_zero_keeps_no_stack(server):
    from lifecycle.instruments import sql

    sql.configure()
    try:
        call("urllib", f"{server}/ok")
        [span] = http_spans(last_trace())
        assert "stack" not in span.attrs and span.attrs["status"] == 200
    finally:
        sql.configure()


# -- free outside a trace, exactly the originals -----------------------------------------------------------


def test_outside_a_trace_only_the_wrappers_run(server):
    """Outside a trace a call runs our wrapper (one ContextVar read) and nothing else of ours."""
    install_all()
    ours = os.path.dirname(http_out.__file__) + os.sep
    seen: set[str] = set()

    def profile(frame, event, arg):
        if event == "call" and frame.f_code.co_filename.startswith(ours):
            seen.add(frame.f_code.co_name)

    import urllib.request

    sys.setprofile(profile)
    try:
        with urllib.request.urlopen(f"{server}/ok") as response:
            body = response.read()
        if find_spec("requests") is not None:
            import requests

            assert requests.get(f"{server}/ok", timeout=5).text == "hello"
        if find_spec("httpx") is not None:
            import httpx

            assert httpx.get(f"{server}/ok").text == "hello"
    finally:
        sys.setprofile(None)
    assert body == b"hello"
    assert seen <= {"putrequest", "endheaders", "getresponse", "wrapper"}, seen
    assert not stdlib._pending


def _seams() -> list[tuple[type, str]]:
    seams = [(http.client.HTTPConnection, name) for name in ("putrequest", "endheaders", "getresponse")]
    if find_spec("urllib3") is not None:
        import urllib3.connectionpool

        seams.append((urllib3.connectionpool.HTTPConnectionPool, "urlopen"))
    if find_spec("requests") is not None:
        import requests

        seams.append((requests.Session, "send"))
    if find_spec("httpx") is not None:
        import httpx

        seams += [(httpx.Client, "send"), (httpx.AsyncClient, "send")]
    return seams


def test_uninstall_restores_the_originals_and_install_is_idempotent():
    install_all()
    seams = _seams()
    wrapped = {seam: seam[0].__dict__[seam[1]] for seam in seams}
    originals = {seam: wrapper.__wrapped__ for seam, wrapper in wrapped.items()}
    http_out.install()
    assert {seam: seam[0].__dict__[seam[1]] for seam in seams} == wrapped  # installed once
    try:
        http_out.uninstall()
        http_out.uninstall()
        for (owner, name), original in originals.items():
            assert owner.__dict__[name] is original, f"{owner.__name__}.{name}"
            assert not hasattr(original, "__wrapped__")
    finally:
        http_out.install()
    for (owner, name), original in originals.items():
        assert owner.__dict__[name].__wrapped__ is original


def test_the_wrappers_keep_name_and_signature():
    install_all()
    for owner, name in _seams():
        wrapper = owner.__dict__[name]
        original = wrapper.__wrapped__
        assert wrapper is not original
        assert (wrapper.__name__, wrapper.__qualname__, wrapper.__doc__) == (
            original.__name__, original.__qualname__, original.__doc__)
        assert inspect.signature(wrapper) == inspect.signature(original)
        assert inspect.iscoroutinefunction(wrapper) == inspect.iscoroutinefunction(original)


def test_an_absent_library_is_never_imported():
    code = (
        "import sys\n"
        "sys.modules.update(httpx=None, requests=None, urllib3=None)\n"  # as if not installed
        "import django; django.setup()\n"
        "import http.client\n"
        "from lifecycle.instruments import http_out\n"
        "http_out.install()\n"
        "assert sorted(k[1] for k in http_out._originals) == ['endheaders', 'getresponse', 'putrequest']\n"
        "assert all(sys.modules[name] is None for name in ('httpx', 'requests', 'urllib3'))\n"
        "print('ok')\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


# -- the boundary: a failure of ours never changes the call ------------------------------------------------


class Down(Exception):
    pass


def _down(*args, **kwargs):
    raise Down("lifecycle's helper is down")


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("helper", ["user_frames", "done"])
def test_a_failing_recorder_leaves_the_call_intact(server, library, helper, monkeypatch, caplog):
    assert call(library, f"{server}/ok") == {"status": 200, "size": 5}
    safety.reset()
    monkeypatch.setattr(record, helper, _down)
    with caplog.at_level(logging.WARNING, logger="lifecycle"):
        assert call(library, f"{server}/ok") == {"status": 200, "size": 5}
        assert call(library, f"{server}/ok") == {"status": 200, "size": 5}
    logged = [r for r in caplog.records if r.name == "lifecycle" and r.exc_info and isinstance(r.exc_info[1], Down)]
    assert len(logged) == 1 and "http_out instrument" in logged[0].getMessage()
    # Counted at each call (a library built on another one tries again at its seam), logged once.
    assert list(safety.failures) == ["http_out instrument"] and safety.failures["http_out instrument"] >= 2
    trace = last_trace()
    assert all(s.duration_ns is not None for s in trace.spans)
    if helper == "done":  # the span was opened: it still ends, without a status
        [span] = http_spans(trace)
        assert span.attrs["status"] is None
    else:
        assert http_spans(trace) == []
    safety.reset()


# -- the kind: described to the dashboard, streamed live without headers ----------------------------------


def test_the_kind_is_described_in_the_trace_and_streamed_with_safe_attributes(server):
    from lifecycle import kinds
    from lifecycle.live.encoding import live_span

    call("urllib", f"{server}/ok?token=t0p-s3cret-t0ken")
    trace = last_trace()
    assert trace.to_dict()["kinds"]["http_out"] == {"label": "HTTP out", "symbol": "H", "color": "#3f8f8f"}
    assert kinds.get("http_out").live_attrs == ("method", "url", "status", "library")
    [span] = http_spans(trace)
    live = live_span(span)
    assert live["kind"] == "http_out"
    assert live["attrs"] == {"method": "GET", "url": f"{server}/ok?token=********", "status": 200,
                             "library": "urllib"}


# -- the README's worked example, as a user would copy it -------------------------------------------------


def test_the_readme_instrument_records_beside_the_built_in_one(server, tmp_path, monkeypatch):
    if find_spec("requests") is None:
        pytest.skip("requests is not installed")
    from lifecycle import kinds
    from lifecycle.conf import DEFAULTS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    code = readme.split("# mysite/instruments.py\n", 1)[1].split("```", 1)[0]
    (tmp_path / "readme_instruments.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = "readme_instruments.RequestsInstrument"
    try:
        with override_settings(LIFECYCLE={"INSTRUMENTS": [*DEFAULTS["INSTRUMENTS"], entry]}):
            assert call("requests", f"{server}/ok?token=t0p-s3cret-t0ken") == {"status": 200, "size": 5}
            trace = last_trace()
        import requests

        assert not hasattr(requests.Session.send.__wrapped__, "__wrapped__")  # uninstalled with the list
    finally:
        kinds.unregister("requests_call")
    outer = next(s for s in trace.spans if s.kind == "requests_call")
    [inner] = http_spans(trace)
    assert outer.attrs == {"method": "GET", "url": f"{server}/ok?token=********", "status": 200}
    assert inner.parent_id == outer.id and inner.attrs["status"] == 200
    assert trace.kinds["requests_call"] == {"label": "requests", "symbol": "r", "color": "#3f8f8f"}
