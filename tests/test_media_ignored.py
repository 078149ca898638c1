"""Requests under MEDIA_URL (uploaded files) are not recorded, like STATIC_URL; IGNORE_MEDIA=False records them."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.http import HttpResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import include, path
from django.views.static import serve

from lifecycle import store
from tests.conftest import last_trace

pytestmark = pytest.mark.urls(__name__)


def media(request, name):
    return serve(request, name, document_root=settings.MEDIA_ROOT)


def page(request):
    return HttpResponse("page")


urlpatterns = [
    path("media/<path:name>", media),
    path("uploads/<path:name>", media),
    path("m-page/", page),
    path("", include("tests.urls")),
]


@pytest.fixture
def media_root(tmp_path):
    (tmp_path / "cover.txt").write_text("a cover")
    with override_settings(MEDIA_ROOT=str(tmp_path), MEDIA_URL="/media/"):
        yield tmp_path


def get(client, url: str) -> bytes:
    """GET ``url`` and read the whole (file) response: its trace ends when the response is closed."""
    response = client.get(url)
    assert response.status_code == 200
    return b"".join(response.streaming_content) if response.streaming else response.content


def paths_recorded() -> list[str]:
    return [row["path"] for row in store.recent()]


def test_media_requests_are_not_recorded(media_root):
    client = Client()
    assert get(client, "/media/cover.txt") == b"a cover"
    assert store.recent() == []
    client.get("/m-page/")
    assert last_trace().request["path"] == "/m-page/"


def test_media_requests_are_not_recorded_under_asgi(media_root):
    async def fetch():
        response = await AsyncClient().get("/media/cover.txt")
        return b"".join(response.streaming_content)

    assert async_to_sync(fetch)() == b"a cover"
    assert store.recent() == []


@pytest.mark.parametrize("media_url", ["uploads/", "/uploads/"])
def test_a_relative_media_url_is_a_path_prefix_too(media_root, media_url):
    with override_settings(MEDIA_URL=media_url):
        assert get(Client(), "/uploads/cover.txt") == b"a cover"
    assert store.recent() == []


def test_ignore_media_false_records_them(media_root):
    with override_settings(LIFECYCLE={"IGNORE_MEDIA": False}):
        assert get(Client(), "/media/cover.txt") == b"a cover"
    assert last_trace().request["path"] == "/media/cover.txt"


@pytest.mark.parametrize("media_url", ["https://cdn.example.com/media/", "//cdn.example.com/media/", "/", ""])
def test_media_on_another_host_or_at_the_root_ignores_nothing(media_root, media_url):
    with override_settings(MEDIA_URL=media_url):
        assert get(Client(), "/media/cover.txt") == b"a cover"
        assert Client().get("/m-page/").status_code == 200
    assert sorted(paths_recorded()) == ["/m-page/", "/media/cover.txt"]


def test_media_url_changed_while_the_handler_lives(media_root):
    client = Client()
    get(client, "/media/cover.txt")
    assert store.recent() == []
    with override_settings(MEDIA_URL="/elsewhere/"):
        get(client, "/media/cover.txt")
    assert paths_recorded() == ["/media/cover.txt"]
