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
