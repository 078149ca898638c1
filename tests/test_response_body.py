"""What a trace keeps of the response: its headers (redacted) and, for JSON and text answers, its body
(redacted like a request body, at most RESPONSE_BODY_BYTES); never a streaming response's content."""

from __future__ import annotations

import gzip
import json

import pytest
from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse
from django.test import Client
from django.urls import path

from lifecycle.conf import REDACTED
from tests.conftest import last_trace

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


def api(request):
    response = JsonResponse({"book": "Dune", "token": "tok-in-the-body", "items": list(range(3)),
                             "fields": [{"name": "password", "value": "hunter2-in-a-field"}]})
    response.set_cookie("sessionid", "cookie-secret-value")
    response["Authorization"] = "Bearer resp-auth-secret"
    return response


def plain(request):
    return HttpResponse("ready; password=plain-secret\n", content_type="text/plain")


def page(request):
    return HttpResponse("<html><body>the page</body></html>")


def big(request):
    return JsonResponse({"blob": "x" * int(request.GET["n"])})


def picture(request):
    return HttpResponse(b"\x89PNG\r\n\x1a\n" + bytes(range(256)), content_type="image/png")


def compressed(request):
    response = HttpResponse(gzip.compress(b'{"a": 1}'), content_type="application/json")
    response["Content-Encoding"] = "gzip"
    return response


class Watched:
    """A streaming iterator that records whether anything read it before the client did."""

    def __init__(self) -> None:
        self.read = 0
        self.chunks = iter([b'{"streamed": ', b"true}"])

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        self.read += 1
        return next(self.chunks)


STREAM = Watched()


def stream(request):
    global STREAM
    STREAM = Watched()
    return StreamingHttpResponse(STREAM, content_type="application/json")


def download(request):
    return FileResponse(open(__file__, "rb"), content_type="text/plain")


urlpatterns = [path("api/", api), path("plain/", plain), path("page/", page), path("big/", big),
               path("picture/", picture), path("compressed/", compressed), path("stream/", stream),
               path("download/", download)]


def response_of(url: str) -> dict:
    response = Client().get(url)
    if response.streaming:
        b"".join(response.streaming_content)
    return last_trace().response


def test_json_response_body_is_kept_and_redacted():
    response = response_of("/api/")
    body = json.loads(response["body"])
    assert body["book"] == "Dune" and body["items"] == [0, 1, 2]
    assert body["token"] == REDACTED
    assert body["fields"] == [{"name": "password", "value": REDACTED}]
    assert response["body_omitted"] is None


def test_response_headers_are_redacted_like_request_headers():
    response = response_of("/api/")
    headers = response["headers"]
    assert headers["Set-Cookie"] == REDACTED
    assert headers["Authorization"] == REDACTED
    assert headers["Content-Type"] == "application/json"
    text = json.dumps(response)
    assert "cookie-secret-value" not in text and "resp-auth-secret" not in text


def test_text_body_is_kept_with_its_secret_pairs_redacted():
    response = response_of("/plain/")
    assert response["body"] == f"ready; password={REDACTED}\n"


def test_html_pages_and_binary_types_are_not_kept():
    html = response_of("/page/")
    assert (html["body"], html["body_omitted"]) == (None, "HTML")
    assert html["size"] == len(b"<html><body>the page</body></html>")
    png = response_of("/picture/")
    assert (png["body"], png["body_omitted"]) == (None, "content type image/png")
    gz = response_of("/compressed/")
    assert (gz["body"], gz["body_omitted"]) == (None, "encoded (gzip)")


def test_the_size_cap_is_respected(settings):
    settings.LIFECYCLE = {"RESPONSE_BODY_BYTES": 1000}
    assert json.loads(response_of("/big/?n=900")["body"]) == {"blob": "x" * 900}
    over = response_of("/big/?n=1000")
    assert over["body"] is None
    assert over["body_omitted"] == f"too large ({over['size']} bytes > RESPONSE_BODY_BYTES 1000)"
    settings.LIFECYCLE = {"RESPONSE_BODY_BYTES": 0}
    off = response_of("/big/?n=1")
    assert (off["body"], off["body_omitted"]) == (None, None)


def test_streaming_responses_are_never_read():
    response = Client().get("/stream/")
    assert STREAM.read == 0  # the trace of this request is finished only once the stream is closed
    assert b"".join(response.streaming_content) == b'{"streamed": true}'
    response.close()
    streamed = last_trace().response
    assert (streamed["body"], streamed["body_omitted"], streamed["streaming"]) == (None, "streaming", True)
    download = response_of("/download/")
    assert (download["body"], download["body_omitted"]) == (None, "streaming")


def script(request):
    return HttpResponse("var token = 'x';", content_type="text/javascript")


def csv(request):
    return HttpResponse("id,title\n1,Dune\n", content_type="text/csv")


urlpatterns += [path("script/", script), path("csv/", csv)]


def test_assets_are_not_kept_and_csv_is():
    assert response_of("/script/")["body_omitted"] == "content type text/javascript"
    assert response_of("/csv/")["body"] == "id,title\n1,Dune\n"
