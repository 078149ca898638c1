"""The dashboard page says whether the live websocket can work (``live``) and shows a text of its own
until the app mounts (the static files may not be served)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from django.test import Client, override_settings

from lifecycle import views
from lifecycle.live import layer
from lifecycle.live.publisher import get_publisher

pytestmark = pytest.mark.django_db

INTERNAL = "127.0.0.1"


@pytest.fixture(autouse=True)
def debug_on(settings) -> Iterator[None]:
    settings.DEBUG = True  # the default access rule needs it
    yield
    get_publisher().reset_settings()


def page_config(client: Client) -> dict:
    response = client.get("/__lifecycle__/")
    assert response.status_code == 200
    match = re.search(r'<script id="lifecycle-config" type="application/json">(.*?)</script>',
                      response.content.decode(), re.S)
    assert match
    return json.loads(match.group(1))


def test_live_with_the_test_settings_channel_layer():
    assert views.dashboard_config()["live"] is True
    assert views.dashboard_config()["channels"] is True
    assert page_config(Client(REMOTE_ADDR=INTERNAL))["live"] is True


def test_not_live_when_lifecycle_has_no_channel_layer():
    with override_settings(LIFECYCLE={"CHANNEL_LAYER": None}):
        config = views.dashboard_config()
        assert config["live"] is False
        assert config["channels"] is True  # installed: the page explains the missing layer instead
        assert page_config(Client(REMOTE_ADDR=INTERNAL))["live"] is False
    assert views.dashboard_config()["live"] is True


def test_not_live_without_channel_layers():
    with override_settings(CHANNEL_LAYERS={}):
        assert views.dashboard_config()["live"] is False


def test_not_live_without_channels_installed(monkeypatch):
    # The plain install: CHANNEL_LAYERS may still be set, but nothing can carry live events.
    def no_channels(name, *args):
        return None if name == "channels" else find_spec(name, *args)

    find_spec = layer.find_spec
    monkeypatch.setattr(layer, "find_spec", no_channels)
    monkeypatch.setattr(views, "find_spec", no_channels)
    get_publisher().reset_settings()
    config = views.dashboard_config()
    assert config["live"] is False
    assert config["channels"] is False


def test_the_page_says_why_it_is_blank_until_the_app_mounts():
    html = Client(REMOTE_ADDR=INTERNAL).get("/__lifecycle__/").content.decode()
    app = re.search(r'<div id="lifecycle-app">(.*?)</div>', html, re.S)
    assert app, "the fallback text must be inside #lifecycle-app, which the app replaces when it mounts"
    text = " ".join(re.sub(r"<[^>]+>", "", app.group(1)).split())
    assert "Loading the request lifecycle dashboard…" in text
    assert "its static files (lifecycle/dashboard.js) are not being served" in text
    assert "collectstatic" in text and "STATIC_URL" in text and "manage.py runserver" in text
    assert "style=" not in html  # the CSP allows no inline styles
