"""A local OTLP/HTTP receiver for the tests, decoding with the official ``opentelemetry-proto`` package.

No OpenTelemetry Collector binary is available in the package registries this project installs from (PyPI,
npm): the Collector ships as Go binaries and container images only. So the streaming tests start this
receiver instead: a threaded ``http.server`` that accepts ``POST /v1/traces`` as a collector's OTLP/HTTP
receiver does, and decodes each body into ``ExportTraceServiceRequest`` with ``google.protobuf.json_format``
(the OTLP/JSON rules on top of the standard protobuf JSON mapping: hex ids, integer enums).
"""

from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

_ID_KEYS = ("traceId", "spanId", "parentSpanId")


def _ids_to_base64(obj: Any) -> Any:
    # OTLP/JSON carries trace and span ids as hex (opentelemetry.io/docs/specs/otlp, "JSON Protobuf
    # Encoding"), where the standard protobuf JSON mapping of bytes is base64: convert, as a collector does.
    if isinstance(obj, dict):
        return {k: (base64.b64encode(bytes.fromhex(v)).decode() if k in _ID_KEYS and isinstance(v, str)
                    else _ids_to_base64(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_ids_to_base64(v) for v in obj]
    return obj


def parse(data: bytes) -> ExportTraceServiceRequest:
    """OTLP/JSON bytes -> the protobuf message; raises ``json_format.ParseError`` on any field that is not
    the protocol's (unknown fields are errors here, not ignored)."""
    message = ExportTraceServiceRequest()
    json_format.Parse(orjson.dumps(_ids_to_base64(orjson.loads(data))), message)
    return message


class Receiver:
    """``with Receiver() as r: ... r.url ... r.requests``: each POST decoded, with its headers."""

    def __init__(self, status: int = 200, hold: threading.Event | None = None) -> None:
        self.status = status
        self.hold = hold  # when set: each request waits for it before answering
        self.requests: list[tuple[dict[str, str], ExportTraceServiceRequest]] = []
        self.errors: list[str] = []
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                try:
                    if self.path != "/v1/traces":
                        raise ValueError(f"path {self.path!r}")
                    if self.headers.get("Content-Type") != "application/json":
                        raise ValueError(f"Content-Type {self.headers.get('Content-Type')!r}")
                    receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, parse(body)))
                except Exception as exc:
                    receiver.errors.append(f"{type(exc).__name__}: {exc}")
                    self.send_response(400)
                    self.end_headers()
                    return
                answer = b"{}"  # an ExportTraceServiceResponse without partial_success
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def spans(self) -> list[Any]:
        return [span for _, message in self.requests for rs in message.resource_spans for ss in rs.scope_spans
                for span in ss.spans]
