from __future__ import annotations

import time

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.csrf import csrf_exempt

import lifecycle
from tests.thirdparty import jobqueue


def _select(value) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s", [value])
        cursor.fetchone()


def queries(request, n: int):
    for i in range(n):
        _select(i)
    return HttpResponse(f"{n} queries")


def tagged(request, tag: str):
    _select(f"{tag}-a")
    time.sleep(0.002)
    _select(f"{tag}-b")
    return HttpResponse(tag)


async def async_tagged(request, tag: str):
    await sync_to_async(_select)(f"{tag}-a")
    count = await User.objects.filter(username=tag).acount()
    return HttpResponse(f"{tag} {count}")


def nested(request):
    return render(request, "testapp/page.html", {"items": [1, 2, 3]})


def cache_view(request):
    first = cache.get("lifecycle-test-key")
    cache.set("lifecycle-test-key", "value", 30)
    second = cache.get("lifecycle-test-key")
    return HttpResponse(f"{first} {second}")


def explode(request):
    raise ValueError("deliberate test failure")


def boom(request):
    _select(1)
    explode(request)


async def async_view(request):
    users = await User.objects.acount()
    names = await sync_to_async(lambda: list(User.objects.values_list("username", flat=True)))()
    return JsonResponse({"count": users, "names": names})


def stream(request):
    def chunks():
        yield "start\n"
        _select("streamed")
        yield "end\n"

    return StreamingHttpResponse(chunks())


@csrf_exempt
def echo(request):
    return HttpResponse(request.POST.get("username", ""))


def whoami(request):
    return HttpResponse(request.user.get_username())


def hostile(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 /* <img src=x onerror=alert(1)> */")
        cursor.execute("SELECT 1 /* <img src=x onerror=alert(1)> */")
    return HttpResponse("<html><body><p>hostile</p></body></html>")


class Row:
    """Template context item whose attributes run queries: user frames below the template engine."""

    def __init__(self, n: int) -> None:
        self.n = n

    @property
    def first(self) -> str:
        _select(f"first-{self.n}")
        return "first"

    @property
    def second(self) -> str:
        _select(f"second-{self.n}")
        return "second"


# No 'unsafe-inline': what a site with a strict policy sends. The toolbar and its panels must work under it.
STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:"


def toolbar_page(request):
    """A page of queries and templates, under a strict Content-Security-Policy (browser tests of the
    django-debug-toolbar panel)."""
    for i in range(3):
        _select(f"toolbar-{i}")
    response = render(request, "testapp/toolbar_page.html", {"items": [1, 2]})
    response["Content-Security-Policy"] = STRICT_CSP
    return response


def template_queries(request):
    rows = [Row(n) for n in range(3)]
    one = render_to_string("testapp/rows.html", {"rows": rows})  # RENDER-ONE
    two = render_to_string("testapp/rows.html", {"rows": rows})  # RENDER-TWO
    return HttpResponse(one + two)


@lifecycle.span("price cart", kind="pricing", items=3)
def _price_cart() -> int:
    _select("price")
    return 42


def own_spans(request):
    """lifecycle.span around the site's own code (with a query inside), and a third-party library call."""
    with lifecycle.span("checkout", order_id=7, api_token="tok-SECRET-1234") as outer:
        total = _price_cart()
        job = jobqueue.enqueue("send_receipt", queue="mail", to="a@example.com")
        outer.set(total=total)
    return HttpResponse(f"<html><body><p>{total} {job}</p></body></html>")


@lifecycle.span("async step")
async def _async_step() -> str:
    await sync_to_async(_select)("async-step")
    return "done"


async def async_own_spans(request):
    async with lifecycle.span("async block", kind="custom"):
        result = await _async_step()
    return HttpResponse(result)


# -- outbound HTTP (tests/instruments/test_http_out.py): the view calls the URL given in ?url= -------------


def fetch(library: str, url: str, timeout: float, body: bytes | None) -> tuple[int, int]:
    """One call with ``library``: (status, length of the body read). Its exceptions are the caller's."""
    method = "POST" if body is not None else "GET"
    if library == "urllib":
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(urllib.request.Request(url, data=body, method=method),  # FETCH-URLLIB
                                        timeout=timeout) as response:
                return response.status, len(response.read())
        except urllib.error.HTTPError as exc:  # a 500: urllib raises it, with the response
            return exc.code, len(exc.read())
    if library == "requests":
        import requests

        response = requests.request(method, url, data=body, timeout=timeout)  # FETCH-REQUESTS
        return response.status_code, len(response.content)
    if library == "urllib3":
        import urllib3

        response = urllib3.request(method, url, body=body, timeout=timeout, retries=False)  # FETCH-URLLIB3
        return response.status, len(response.data)
    import httpx

    response = httpx.request(method, url, content=body, timeout=timeout, follow_redirects=True)  # FETCH-HTTPX
    return response.status_code, len(response.content)


def _fetch_args(request) -> tuple[str, float, bytes | None]:
    body = request.GET.get("body")
    return request.GET["url"], float(request.GET.get("timeout", "5")), (b"x" * int(body) if body else None)


def _outcome(call) -> JsonResponse:
    try:
        status, size = call()
    except Exception as exc:  # the test compares the type with the one raised outside a trace
        return JsonResponse({"error": f"{type(exc).__module__}.{type(exc).__qualname__}"})
    return JsonResponse({"status": status, "size": size})


def http_call(request, library: str):
    url, timeout, body = _fetch_args(request)
    return _outcome(lambda: fetch(library, url, timeout, body))


async def http_call_async(request):
    import httpx

    url, timeout, body = _fetch_args(request)
    method = "POST" if body is not None else "GET"
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
            response = await client.request(method, url, content=body)  # FETCH-HTTPX-ASYNC
    except Exception as exc:
        return JsonResponse({"error": f"{type(exc).__module__}.{type(exc).__qualname__}"})
    return JsonResponse({"status": response.status_code, "size": len(response.content)})
