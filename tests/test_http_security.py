"""The dashboard page and its JSON endpoints cannot be read by another site's page."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from lifecycle import store

INTERNAL = "127.0.0.1"
PATHS = ["/__lifecycle__/", "/__lifecycle__/api/traces/"]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def debug_on(settings):
    settings.DEBUG = True
    store.clear()
    yield
    store.clear()


def get(path: str, host: str = "127.0.0.1:8000", **headers):
    return Client(REMOTE_ADDR=INTERNAL, HTTP_HOST=host).get(path, headers=headers)


@pytest.fixture
def trace_path() -> str:
    Client().get("/t/tagged/planted/")
    (row,) = store.recent()
    return f"/__lifecycle__/api/traces/{row['id']}/"


@override_settings(ALLOWED_HOSTS=["*"])
@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"},
    {"Origin": "https://evil.example"},  # a browser that sends no Sec-Fetch-* headers
    {"Origin": "http://localhost:5173", "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors"},
    {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script"},  # <script src>
    {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"},  # framed
    {"Origin": "null", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"},
])
def test_another_sites_page_is_refused_before_any_data(headers, trace_path):
    for path in [*PATHS, trace_path, trace_path + "?download=1"]:
        response = get(path, **headers)
        assert response.status_code == 403, (path, headers)
        assert b"planted" not in response.content and b"SELECT" not in response.content
        assert "Access-Control-Allow-Origin" not in response


@override_settings(ALLOWED_HOSTS=["*"])
@pytest.mark.parametrize("headers", [
    {},  # scripts, curl
    {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Origin": "http://127.0.0.1:8000"},
    {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"},
    {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},  # address bar
    {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},  # a link
])
def test_the_dashboards_own_pages_scripts_and_links_are_served(headers, trace_path):
    for path in [*PATHS, trace_path]:
        assert get(path, **headers).status_code == 200, (path, headers)


@override_settings(LIFECYCLE={"ALLOWED_ORIGINS": ["http://localhost:5173"]})
def test_allowed_origins_apply_to_the_api_too(trace_path):
    headers = {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors"}
    assert get(trace_path, Origin="http://localhost:5173", **headers).status_code == 200
    assert get(trace_path, Origin="http://localhost:5174", **headers).status_code == 403


def test_responses_are_never_sniffed_framed_or_embedded_elsewhere(trace_path):
    for path in [*PATHS, trace_path]:
        response = get(path)
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cross-Origin-Resource-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert get(trace_path)["Content-Type"] == "application/json"
    assert get(PATHS[1])["Content-Type"] == "application/json"
