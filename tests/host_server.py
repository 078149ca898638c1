"""The host as it runs without lifecycle, a real WSGI server in a thread (runserver's), and a raw client,
for the tests that compare what a site does with and without lifecycle."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.test import override_settings

from lifecycle import store

OURS = "lifecycle.middleware.LifecycleMiddleware"


def without_lifecycle():
    """The site's settings without lifecycle's middleware (handlers built inside load the chain anew)."""
    return override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if m != OURS])


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def serving(app=None) -> Iterator[tuple[str, int]]:
    """``app`` (a WSGIHandler built with the current settings by default) served as ``manage.py runserver``
    serves it: Django's threaded WSGIServer and request handler."""
    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(app or WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[:2]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def exchange(address: tuple[str, int], raw: bytes, *, hang_after: float = 10.0) -> tuple[int, bytes]:
    """Send ``raw`` (a request, possibly shorter than it announces) and read one response: its status and
    body. The socket timeout only detects a hang: no answer within ``hang_after`` seconds fails."""
    with socket.create_connection(address, timeout=hang_after) as sock:
        sock.sendall(raw)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            headers = dict(line.split(b": ", 1) for line in lines[1:] if b": " in line)
            length = int(headers.get(b"Content-Length", b"-1"))
            while length < 0 or len(rest) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                rest += chunk
        except TimeoutError:
            raise AssertionError(f"no answer within {hang_after} s (got {data[:200]!r})") from None
    return int(lines[0].split()[1]), rest


def wait_for_traces(count: int, hang_after: float = 10.0) -> None:
    """Until ``count`` traces are finished (a server thread finishes them after the client got its
    answer); the deadline only detects a trace that never ends."""
    deadline = time.monotonic() + hang_after
    while store.size() < count:
        assert time.monotonic() < deadline, f"{store.size()} traces finished, expected {count}"
        time.sleep(0.01)
