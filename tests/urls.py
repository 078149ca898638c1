from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("t/", include("tests.testapp.urls")),
    path("__debug__/", include("debug_toolbar.urls")),
    path("", include("demo_site.urls")),
]
