"""A django-debug-toolbar panel: this request's lifecycle trace inside the toolbar.

Add ``"lifecycle.panels.LifecyclePanel"`` to ``DEBUG_TOOLBAR_PANELS``. Our middleware must stay first in
MIDDLEWARE (before ``DebugToolbarMiddleware``), so the trace is open while the toolbar collects its
panels: the panel takes a snapshot of it then (everything the site did; the toolbar's own work is left
out of the trace, see ``lifecycle.instruments.toolbar``, which suspends the recording meanwhile),
summarized the same way as a finished trace, and links to it in the live dashboard.

The panel shows that snapshot with the dashboard's own views (the built ``lifecycle/panel.js``: the
waterfall, the summary with the self time per kind, the span detail), with no inline script or style: the
trace is in a ``json_script`` element of the content, read by the script, which draws into a shadow root
of its own with ``lifecycle/panel.css`` (the host page's styles and the toolbar's stay out of it). The
table of kinds and the query groups stay in the content as a summary that needs no script.
"""

from __future__ import annotations

from collections.abc import Collection
from time import perf_counter_ns

from debug_toolbar.panels import Panel
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from lifecycle import kinds, nplusone
from lifecycle.instruments.toolbar import suspended_recording
from lifecycle.recorder import current
from lifecycle.redact.trace import redact_trace
from lifecycle.summary import finalize
from lifecycle.trace import Span, Trace

# Always listed in the panel's table (with 0 when the request had none); any other kind when it has spans.
_ALWAYS = ("middleware", "resolve", "view", "sql", "template", "cache", "exception")


def _kinds_shown(counts) -> list[tuple[str, str]]:
    """(kind, label) of the rows of the panel's table: the kinds of lifecycle.kinds in their order, then
    the kinds nobody registered (by name); the request itself is the panel."""
    known = kinds.registered()
    shown = [(name, kind.label) for name, kind in known.items()
             if name != "request" and (name in _ALWAYS or counts.get(name))]
    shown.extend((name, name) for name in counts if name not in known)
    return shown


def snapshot(trace: Trace, secrets: Collection[str] = (), *, now_ns: int | None = None,
             status: int | None = None) -> Trace:
    """A finished copy of a trace still being recorded (the original keeps recording); ``secrets``: the
    recording's known secret values, replaced in the copy as in the finished trace. ``now_ns``: the
    snapshot's time from the trace start: the spans still open (the request itself, the toolbar's own
    middleware) keep ``duration_ns`` None and count as running until then in the summary's times.
    ``status``: the response's status when the trace has none yet (an Http404 page is not an error)."""
    spans = [Span(s.id, s.parent_id, s.kind, s.name, s.start_ns, s.duration_ns, dict(s.attrs))
             for s in list(trace.spans)]
    response = trace.response
    if response is None and status is not None:
        response = {"status": status}
    copy = Trace(trace.id, trace.started_at, None, dict(trace.request), response, trace.resolver, spans)
    return finalize(redact_trace(copy, secrets), now_ns=now_ns)


class LifecyclePanel(Panel):
    title = _("Request lifecycle")
    nav_title = _("Lifecycle")
    template = "lifecycle/panel.html"
    is_async = True

    def nav_subtitle(self) -> str:
        stats = self.get_stats()
        if not stats.get("trace_id"):
            return str(_("not recorded"))
        text = f"{stats['queries']} queries"
        if stats["n_plus_one"]:
            text += f" · {stats['n_plus_one']} N+1"
        return text

    def generate_stats(self, request, response) -> None:
        rec = current() or suspended_recording()
        if rec is None:
            self.record_stats({"trace_id": None})
            return
        now = perf_counter_ns() - rec.t0
        trace = snapshot(rec.trace, list(rec.secrets), now_ns=now,
                         status=getattr(response, "status_code", None))
        summary = trace.summary
        try:
            dashboard = reverse("lifecycle:dashboard") + f"#trace={trace.id}"
        except NoReverseMatch:
            dashboard = None
        self_time = summary.get("self_time_ns") or summary["time_ns"]
        self.record_stats({
            "trace_id": trace.id,
            "dashboard": dashboard,
            "queries": summary["queries"],
            "n_plus_one": summary["n_plus_one"],
            "counts": [(label, summary["counts"].get(k, 0), self_time.get(k, 0) / 1e6,
                        summary["time_ns"].get(k, 0) / 1e6) for k, label in _kinds_shown(summary["counts"])],
            "n_plus_one_groups": [{
                "count": g["count"], "fingerprint": g["fingerprint"][:300], "distinct": g["distinct_params"],
                "where": nplusone.chain(g),
            } for g in summary.get("n_plus_one_groups", ())],
            "groups": [{
                "count": g["count"], "fingerprint": g["fingerprint"][:300], "n_plus_one": g["n_plus_one"],
                "identical": g["identical"],
                "sites": [(site["count"], nplusone.chain_text(site) or "no user frame recorded")
                          for site in g.get("sites") or [g]],
            } for g in summary["duplicate_groups"]],
            "similar": [{"count": g["count"], "pattern": g["key"][:300], "fingerprints": g["fingerprints"]}
                        for g in summary.get("similar_groups", ())],
            # The waterfall's data (lifecycle/panel.js draws it): the trace as the dashboard's API serves
            # it, and the snapshot's time, where the spans still running end. Kept as text: the toolbar's
            # store decodes some dict keys ("__djdt_binary__") into bytes, and the site's data may hold them.
            "trace_json": trace.to_json().decode(),
            "now_ns": now,
        })

    @property
    def scripts(self) -> list[str]:
        # The toolbar loads them as modules once the panel's content is in the page (no inline script:
        # CSP-friendly); panel.js then reads the trace from the content's json_script element.
        return [*super().scripts, static("lifecycle/panel.js")]

    @property
    def content(self) -> str:
        stats = self.get_stats()
        data = stats.get("trace_json")
        return render_to_string(self.template, {**stats, "trace_data": _json_script(data) if data else ""})


# What django.utils.html.json_script escapes: JSON text that cannot close its <script> element.
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def _json_script(json_text: str) -> str:
    """A json_script element (data, never run) holding JSON text already serialized."""
    escaped = json_text.translate(_JSON_SCRIPT_ESCAPES)  # safe inside the element, as json_script's
    return format_html('<script type="application/json">{}</script>', mark_safe(escaped))
