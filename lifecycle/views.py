"""The dashboard page and the JSON endpoints for scripts (``docs/trace-format.md``, "HTTP endpoints").

Where lifecycle is off (``lifecycle.policy.enabled``: DEBUG off without ``ENABLED: True``) every view
answers Django's plain 404, as if the URLs were not included. Otherwise every view asks the access
callback first (``lifecycle.access``), exactly like the websocket does, and answers a refusal with a 403
whose one sentence says which rule refused and how to allow it, and nothing about the traces. A request
from another site's page (``lifecycle.access.cross_site``) is refused the same way, so that no CORS
setting of the site can make the JSON readable elsewhere. Responses are never cached, never framed by
another page, and JSON is served with ``nosniff`` and ``Cross-Origin-Resource-Policy: same-origin``
(never readable as a script). The one POST endpoint (``api/traces/clear/``) also needs Django's CSRF token,
which the page's config carries.
"""

from __future__ import annotations

import functools
import re
from importlib.util import find_spec
from typing import Any

from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseForbidden, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import get_script_prefix, reverse
from django.utils.html import escape
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from lifecycle import conf, explain, export, policy, store
from lifecycle.access import AccessContext, cross_site, refused
from lifecycle.live.publisher import get_publisher
from lifecycle.live.routing import WS_PATH

TEMPLATE = "lifecycle/dashboard.html"
CONFIG_VERSION = 1

# Shown when the built dashboard template is missing (a source checkout whose frontend is not built).
_FALLBACK_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Request lifecycle</title></head>
<body><h1>Request lifecycle</h1>
<p>The dashboard template <code>{template}</code> is not installed: build the frontend
(<code>frontend/</code>) or reinstall django-request-lifecycle. The JSON API still works:
<a href="{api}">{api}</a>.</p>
{config}
</body></html>
"""


def dashboard_config(request=None) -> dict[str, Any]:
    """The page's config, rendered with ``json_script`` as ``lifecycle-config``.

    ``live`` is False where the websocket cannot carry live events: Channels is not installed, or no
    channel layer is configured for lifecycle (``LIFECYCLE["CHANNEL_LAYER"]`` None, or an alias
    without a layer), decided exactly as the publisher decides whether to publish. The page then polls
    ``api/traces/`` instead of opening a websocket; ``channels`` tells it which of the two to explain.
    ``csrfToken`` (with ``request``): what the page sends as ``X-CSRFToken`` with its POST requests.
    """
    base = reverse("lifecycle:dashboard")
    live = get_publisher().has_layer()
    return {"wsUrl": get_script_prefix() + WS_PATH, "apiBase": base + "api/", "version": CONFIG_VERSION,
            "maxTraceBytes": conf.get("DASHBOARD_MAX_TRACE_BYTES"), "maxSpans": conf.get("DASHBOARD_MAX_SPANS"),
            "maxDepth": conf.get("DASHBOARD_MAX_DEPTH"), "live": live,
            "channels": live or find_spec("channels") is not None,
            **({"csrfToken": get_token(request)} if request is not None else {})}


def _forbidden(page: bool, reason: str) -> HttpResponse:
    if page:
        return HttpResponseForbidden(f"<h1>403 Forbidden</h1>\n<p>{escape(reason)}</p>\n",
                                     content_type="text/html")
    return JsonResponse({"error": reason}, status=403)


class _CsrfCheck(CsrfViewMiddleware):
    """Django's CSRF check, answering a failure in JSON (whether or not the site runs the middleware)."""

    def _reject(self, request, reason):
        return JsonResponse({"error": f"CSRF check failed: {reason}. Send the dashboard config's csrfToken as the "
                                      "X-CSRFToken header."}, status=403)


def _csrf_refusal(request, view) -> HttpResponse | None:
    return _CsrfCheck(lambda r: HttpResponse()).process_view(request, view, (), {})


def guarded(*, page: bool = False, methods: tuple[str, ...] = ("GET", "HEAD")):
    """404 where lifecycle is off; refuse other sites' pages and viewers the access callback refuses;
    harden what is sent. ``methods``: those the view answers (others get 405); a view taking POST also
    gets Django's CSRF check, answered in JSON."""
    unsafe = any(m not in ("GET", "HEAD", "OPTIONS", "TRACE") for m in methods)

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if cross_site(request):
                response = _forbidden(page, "cross-origin request refused")
            elif (reason := refused(AccessContext.from_request(request))) is not None:
                response = _forbidden(page, reason)
            elif unsafe and (refusal := _csrf_refusal(request, view)) is not None:
                response = refusal
            else:
                response = view(request, *args, **kwargs)
            response["X-Content-Type-Options"] = "nosniff"
            response["Cross-Origin-Resource-Policy"] = "same-origin"
            response["X-Frame-Options"] = "DENY"
            response["Content-Security-Policy"] = "frame-ancestors 'none'"
            response["Referrer-Policy"] = "same-origin"
            return response

        hardened = never_cache(require_http_methods(list(methods))(wrapper))

        @functools.wraps(view)
        def switched(request, *args, **kwargs):
            if not policy.enabled():
                raise Http404
            return hardened(request, *args, **kwargs)

        # The site's CsrfViewMiddleware would refuse first, in HTML: the wrapper checks CSRF itself, after the
        # access and cross-site checks, and answers in JSON.
        return csrf_exempt(switched) if unsafe else switched

    return decorate


@guarded(page=True)
@ensure_csrf_cookie
def dashboard(request):
    config = dashboard_config(request)
    try:
        get_template(TEMPLATE)
    except TemplateDoesNotExist:
        from django.utils.html import json_script

        page = _FALLBACK_PAGE.format(
            template=escape(TEMPLATE), api=escape(config["apiBase"] + "traces/"),
            config=json_script(config, "lifecycle-config"),
        )
        return HttpResponse(page)
    # ensure_csrf_cookie sets the cookie for csrfToken, also where the site runs no CsrfViewMiddleware.
    return render(request, TEMPLATE, {"config": config})


@guarded()
def api_traces(request):
    """``{"traces": [row, ...], "dropped_events": N, "publisher": {counters}}``, newest first."""
    limit = request.GET.get("limit")
    if limit is not None:
        if not limit.isdigit():
            return JsonResponse({"error": f"limit: expected a non-negative integer, got {limit!r}"},
                                status=400)
        limit = int(limit)
    publisher = get_publisher()
    return JsonResponse({"traces": store.recent(limit), "dropped_events": publisher.dropped_events,
                         "publisher": publisher.stats(), "store": store.stats()})


@guarded()
def api_trace(request, trace_id: str):
    """The full trace JSON; ``?format=chrome|otlp`` converts it (``lifecycle.export``); ``?download=1`` makes
    it an attachment with a readable file name."""
    fmt = request.GET.get("format") or "json"
    if fmt not in export.FORMATS:
        return JsonResponse({"error": f"format: expected one of {', '.join(export.FORMATS)}, got {fmt[:40]!r}"},
                            status=400)
    try:
        data = store.get_json(trace_id)
    except store.StoreError as exc:
        return JsonResponse({"error": str(exc)}, status=503)
    if data is None:
        return JsonResponse({"error": not_found(trace_id)}, status=404)
    if fmt != "json":
        data = export.export(data, fmt)
    response = HttpResponse(data, content_type=export.FORMATS[fmt].media_type)
    if request.GET.get("download") not in (None, "", "0", "false"):
        name = download_filename(trace_id).removesuffix(".json") + export.FORMATS[fmt].suffix
        response["Content-Disposition"] = content_disposition_header(True, name)
    return response


@transaction.non_atomic_requests
@guarded(methods=("POST",))
def api_explain(request, trace_id: str, span_id: str):
    """EXPLAIN of a recorded SELECT (``lifecycle.explain``); ``analyze=1`` (form or query) for EXPLAIN ANALYZE
    on PostgreSQL. ``{"vendor", "alias", "analyze", "statement", "columns", "rows", "truncated"}`` or
    ``{"error"}`` with a 4xx."""
    analyze = (request.POST.get("analyze") or request.GET.get("analyze") or "") not in ("", "0", "false")
    status, body = explain.answer(trace_id, span_id, analyze=analyze)
    return JsonResponse(body, status=status)


def not_found(trace_id: str) -> str:
    """Why ``trace_id`` is not served: where traces are kept and for how long."""
    backend = store.backend()
    age = ", none older than TRACE_MAX_AGE seconds" if conf.get("TRACE_MAX_AGE") is not None else ""
    if not backend.shared:
        return (f"no trace {trace_id!r} in this process's memory (it keeps the RECENT_TRACES newest traces this "
                f"server process recorded{age}; with several processes, a trace recorded by another one is not "
                "here: set LIFECYCLE['TRACE_STORE'] to 'sqlite' or 'redis' to share them)")
    return (f"no trace {trace_id!r} in the trace store, {backend.describe()} (it keeps the RECENT_TRACES newest "
            f"traces of every process that shares it{age}; this one may have been cleared or pushed out by newer "
            "ones)")


@guarded(methods=("POST",))
def api_clear(request):
    """``POST``: forget every recorded trace, in every process sharing the trace store."""
    try:
        store.clear()
    except store.StoreError as exc:
        return JsonResponse({"error": str(exc)}, status=503)
    return JsonResponse({"cleared": True})


def download_filename(trace_id: str) -> str:
    """``trace-20261125-014000-GET-books-detail-6f1c2a0e9b3d4c55.json``: when, what, which."""
    row = next((r for r in store.recent() if r["id"] == trace_id), None)
    parts = ["trace"]
    if row is not None:
        stamp = re.sub(r"[^0-9T]", "", (row.get("started_at") or "")[:19]).replace("T", "-")
        if stamp:
            parts.append(stamp)
        if row.get("method"):
            parts.append(str(row["method"]).upper())
        slug = re.sub(r"[^A-Za-z0-9]+", "-", row.get("path") or "").strip("-")[:60].strip("-")
        parts.append(slug or "root")
    parts.append(re.sub(r"[^A-Za-z0-9]", "", trace_id)[:32])
    return "-".join(parts) + ".json"
