from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("demo_site.shop.urls")),
    path("__lifecycle__/", include("lifecycle.urls")),
    path("admin/", admin.site.urls),
]
