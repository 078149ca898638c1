"""``path("__lifecycle__/", include("lifecycle.urls"))``: the dashboard and its JSON API.

The middleware never records requests under the prefix that ``lifecycle:dashboard`` reverses to.
"""

from __future__ import annotations

from django.urls import path

from lifecycle import views

app_name = "lifecycle"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("api/traces/", views.api_traces, name="api-traces"),
    path("api/traces/clear/", views.api_clear, name="api-clear"),  # before <trace_id>: "clear" is not an id
    path("api/traces/<str:trace_id>/", views.api_trace, name="api-trace"),
    path("api/traces/<str:trace_id>/spans/<str:span_id>/explain/", views.api_explain, name="api-explain"),
]
