"""URLconf of the benchmark site: the two pages, plus each peer tool's own URLs in its mode."""

from django.conf import settings
from django.urls import include, path

from bench.benchapp import views

urlpatterns = [
    path("heavy/", views.heavy, name="heavy"),
    path("light/", views.light, name="light"),
]

if "debug_toolbar" in settings.INSTALLED_APPS:
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()
if "silk" in settings.INSTALLED_APPS:
    urlpatterns += [path("silk/", include("silk.urls", namespace="silk"))]
if "lifecycle" in settings.INSTALLED_APPS:
    urlpatterns += [path("__lifecycle__/", include("lifecycle.urls"))]
