"""Secret URL arguments in a URLconf that includes itself (Django's own test URLconfs do): the walk that
finds secret routes before resolution gives up after a bounded number of patterns, and the path is still
redacted once resolved, by the actual match. Before, the walk followed every path of the recursion (20
levels deep), and the first request spent minutes in it."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path

from lifecycle.conf import REDACTED
from lifecycle.redact import paths
from tests.conftest import last_trace

pytestmark = pytest.mark.urls(__name__)


def view(request, **kwargs):
    return HttpResponse("ok")


urlpatterns = [
    path("a/", include(__name__)),
    path("b/", include(__name__)),
    path("c/", include(__name__)),
    path("reset/<uidb64>/<token>/", view),
]


def test_a_self_including_urlconf_is_walked_a_bounded_number_of_patterns(monkeypatch, db):
    looked_at = 0
    original = paths._names

    def counting(pattern):
        nonlocal looked_at
        looked_at += 1
        return original(pattern)

    monkeypatch.setattr(paths, "_names", counting)
    monkeypatch.setattr(paths, "_state", (None, ()))
    response = Client().get("/a/b/reset/MQ/set-secret-token-1/")
    assert response.status_code == 200
    assert looked_at <= paths._MAX_VISITS  # 4 ** 20 paths without the bound
    trace = last_trace()
    assert "set-secret-token-1" not in trace.to_json().decode()
    assert trace.request["path"] == f"/a/b/reset/MQ/{REDACTED}/"
