"""Outbound HTTP (``http_out``): calls made with urllib / http.client, urllib3, requests and httpx.

One span per call, made by the outermost library the code called (requests over urllib3 over http.client
is one ``requests`` span): each library's span is a container, and a library seam that finds an
``http_out`` span as its parent records nothing. A library that is not installed is never imported; one
that is installed is imported and patched when the instruments are installed. The seams:

- **http.client** (``urllib.request`` and everything else built on the standard library's client, such as
  ``xmlrpc.client``): ``HTTPConnection.putrequest`` opens the span, ``endheaders`` sends the request
  (a refused connection fails there), ``getresponse`` ends it with the status. ``putrequest`` rather than
  ``request`` because code that sends by hand (xmlrpc) calls it too. The span ends when the response's
  headers are in: the body is read later by the caller, outside it. urllib follows a redirect with a new
  request, so each hop is a span of its own (the 302, then the 200).
- **urllib3** (used directly): ``HTTPConnectionPool.urlopen``, which ``PoolManager`` and ``urllib3.request``
  call for each hop.
- **requests**: ``Session.send``, which every request goes through whatever adapter is mounted (a custom
  adapter's users included); its URL still has the userinfo (redacted) that urllib3 never sees. A
  redirect it follows is part of the call (``redirects``: how many), as the caller made one call.
- **httpx**: ``Client.send`` and ``AsyncClient.send`` rather than ``HTTPTransport.handle_request``: every
  request goes through ``send`` whatever the transport (a custom or mounted transport, a retrying or
  caching one that never reaches ``HTTPTransport``), and ``send`` is public API where the transport's
  internals are not. Redirects as for requests.

Attributes: ``method``, ``url`` (userinfo password and secret query values redacted by
``lifecycle.redact.url``, the rules of the request's own URL), ``library``, ``status`` (None when the call
failed), ``request_size`` and ``response_size`` in bytes when known (the ``Content-Length`` header, else
the length of a body already read: never a body the caller streams), ``redirects``, ``error``
(``"ConnectTimeout: ..."``, as raised at the seam; the exception goes on to the caller unchanged) and
``cause`` (the first error of its chain, when it wraps one: ``"ConnectionRefusedError: ..."``),
``stack`` (user frames, ``STACK_DEPTH``) and ``template_stack`` as for SQL. Headers are never kept.

Modules: ``record`` (the span's name, attributes, sizes and error, for every seam), ``stdlib`` (the
http.client seam), ``libraries`` (urllib3, requests, httpx); this one is the instrument (``kinds``,
``label``, ``install``, ``uninstall``).
"""

from __future__ import annotations

import sys
from importlib.util import find_spec

from lifecycle.instruments.base import unpatch_all
from lifecycle.instruments.http_out import libraries, stdlib
from lifecycle.instruments.http_out.record import KIND, describe
from lifecycle.kinds import Kind
from lifecycle.safety import report

__all__ = ["KIND", "describe", "install", "kinds", "label", "uninstall"]

# The contract of lifecycle.instruments.base: the kind recorded (streamed live with these attributes, all
# redacted when set; never headers) and how the instrument names itself.
kinds = (Kind(KIND, "HTTP out", "H", "#3f8f8f", ("method", "url", "status", "library"),
              "One outbound HTTP call (urllib, urllib3, requests, httpx): method, redacted URL, status, sizes."),)
label = "outbound HTTP"

_originals: dict = {}


def _installed(name: str) -> bool:
    """Whether a library can be imported, without importing it."""
    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return find_spec(name) is not None
    except (ImportError, ValueError):
        return False


LIBRARIES = (("urllib3", libraries.install_urllib3), ("requests", libraries.install_requests),
             ("httpx", libraries.install_httpx))


def install() -> None:
    if _originals:
        return
    stdlib.install(_originals)
    for name, install_library in LIBRARIES:
        if _installed(name):
            try:
                install_library(_originals)
            except Exception as exc:  # a version whose seam moved: its calls go unrecorded
                report(f"http_out instrument ({name})", exc)


def uninstall() -> None:
    unpatch_all(_originals)
    stdlib._pending.clear()
