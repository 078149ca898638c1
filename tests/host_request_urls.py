"""Views that read their request the way real views do, for the tests of what the recorder captures of
a request (``tests/test_host_request_body.py``, ``test_failing_requests.py``, ``test_file_response.py``)."""

from __future__ import annotations

import io

from django.http import FileResponse, HttpResponse, HttpResponseForbidden, JsonResponse, StreamingHttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def body(request):
    """Reads ``request.body``, as a JSON API view does."""
    return HttpResponse(f"{len(request.body)} bytes")


@csrf_exempt
def form(request):
    """Reads ``request.POST``, as a form view does."""
    return JsonResponse({k: request.POST.getlist(k) for k in request.POST})


@csrf_exempt
def ignores_body(request):
    return HttpResponse("not looked at")


@csrf_exempt
def streamed(request):
    """Reads the body as a stream (``request.read()``), as an upload proxy does."""
    return HttpResponse(f"{len(request.read())} bytes")


@csrf_exempt
def read_then_body(request):
    """A bug the site really has: ``request.body`` after ``request.read()`` raises RawPostDataException."""
    request.read()
    return HttpResponse(request.body)


@csrf_exempt
def forbidden(request):
    """Answers at once, without reading the body (like CSRF refusing a POST without its cookie)."""
    return HttpResponseForbidden("no")


@csrf_exempt
def continue_editing(request):
    """What Django's ``UserAdmin.response_add`` does to the form it parsed, then fails."""
    request.POST = request.POST.copy()
    request.POST["_continue"] = 1
    request.POST.setlist("ratio", [0.5, None, object()])
    raise ValueError("the form was saved, then the view broke")


raised: list[BaseException] = []


def raises(request):
    """Raises a new exception, kept here for the test to look at."""
    exc = LookupError("no such book")
    raised.append(exc)
    raise exc


# The number of finished traces at each moment a server read the end of a NotingFile.
finished_at_eof: list[int] = []


class NotingFile(io.BytesIO):
    def read(self, size=-1):
        chunk = super().read(size)
        if not chunk:
            from lifecycle import store

            finished_at_eof.append(store.size())
        return chunk


def noted_file(request):
    return FileResponse(NotingFile(b"0123456789" * 2000), filename="noted.bin")


class CountingResponse(StreamingHttpResponse):
    """A streaming response whose class does its own work when its content is set."""

    def _set_streaming_content(self, value):
        self.times_set = getattr(self, "times_set", 0) + 1
        super()._set_streaming_content(value)


def counted_stream(request):
    return CountingResponse(iter([b"a", b"b"]))


def file_download(request):
    return FileResponse(open(request.GET["path"], "rb"))  # the response closes it


urlpatterns = [
    path("h/body/", body),
    path("h/form/", form),
    path("h/ignores-body/", ignores_body),
    path("h/streamed/", streamed),
    path("h/read-then-body/", read_then_body),
    path("h/forbidden/", forbidden),
    path("h/continue-editing/", continue_editing),
    path("h/raises/", raises),
    path("h/file/", file_download),
    path("h/noted-file/", noted_file),
    path("h/counted-stream/", counted_stream),
    path("", include("tests.urls")),
]
