from __future__ import annotations

from django.urls import path

from tests.testapp import views

urlpatterns = [
    path("queries/<int:n>/", views.queries, name="t-queries"),
    path("tagged/<str:tag>/", views.tagged, name="t-tagged"),
    path("async-tagged/<str:tag>/", views.async_tagged, name="t-async-tagged"),
    path("nested/", views.nested, name="t-nested"),
    path("cache/", views.cache_view, name="t-cache"),
    path("boom/", views.boom, name="t-boom"),
    path("async/", views.async_view, name="t-async"),
    path("stream/", views.stream, name="t-stream"),
    path("echo/", views.echo, name="t-echo"),
    path("whoami/", views.whoami, name="t-whoami"),
    path("hostile/", views.hostile, name="t-hostile"),
    path("template-queries/", views.template_queries, name="t-template-queries"),
    path("toolbar-page/", views.toolbar_page, name="t-toolbar-page"),
    path("own-spans/", views.own_spans, name="t-own-spans"),
    path("async-own-spans/", views.async_own_spans, name="t-async-own-spans"),
    path("http/async/", views.http_call_async, name="t-http-async"),
    path("http/<str:library>/", views.http_call, name="t-http"),
]
