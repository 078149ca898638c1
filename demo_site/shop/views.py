"""The demo pages. Each one exists to show one thing in a request trace; some are slow or wrong on purpose."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from typing import Any, NoReturn

from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.core.handlers.asgi import ASGIRequest
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Max, Min, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.template import engines
from django.template.loader import render_to_string
from django.template.utils import InvalidTemplateEngineError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods

import lifecycle
from demo_site.shop.forms import LoginForm
from demo_site.shop.models import Author, Book, Review, Tag

SLOW_DEFAULT_MS = 1500
SLOW_MAX_MS = 10_000
STATS_KEY = "shop:stats"
STATS_COMPUTED_AT_KEY = "shop:stats:computed-at"
STATS_SERVED_KEY = "shop:stats:served"
STATS_TIMEOUT = 60
STREAM_BOOKS = 8
STREAM_MARKER = "<!-- stream -->"


def home(request: HttpRequest) -> HttpResponse:
    first_book = Book.objects.order_by("pk").values_list("pk", flat=True).first()
    return render(request, "shop/home.html", {"first_book": first_book})


def book_list(request: HttpRequest) -> HttpResponse:
    # Deliberately naive: the template reads book.author.name, which runs one query per book (N+1).
    # The review count is annotated so that the author lookup is the only repeated query.
    books = Book.objects.annotate(review_count=Count("reviews")).order_by("title")
    return render(request, "shop/book_list.html", {"books": books, "fixed": False})


def book_list_fixed(request: HttpRequest) -> HttpResponse:
    books = (
        Book.objects.select_related("author")
        .prefetch_related("tags")
        .annotate(review_count=Count("reviews"))
        .order_by("title")
    )
    return render(request, "shop/book_list.html", {"books": books, "fixed": True})


def book_cards(request: HttpRequest) -> HttpResponse:
    # Deliberately naive, the commonest template N+1: the loop includes a card template per book, and
    # the card reads book.author.name. Each author query runs inside its own include, under the loop.
    books = Book.objects.order_by("title")
    return render(request, "shop/book_cards.html", {"books": books, "fixed": False})


def book_cards_fixed(request: HttpRequest) -> HttpResponse:
    books = Book.objects.select_related("author").order_by("title")
    return render(request, "shop/book_cards.html", {"books": books, "fixed": True})


def jinja_books(request: HttpRequest) -> HttpResponse:
    # Rendered by the Jinja2 backend (demo_site/shop/jinja2/). Both querysets are lazy: their queries run
    # while the template renders, from inside it.
    books = Book.objects.select_related("author").annotate(review_count=Count("reviews")).order_by("title")
    tags = Tag.objects.annotate(book_count=Count("books")).order_by("-book_count", "name")[:5]
    try:
        engines["jinja2"]
    except InvalidTemplateEngineError:  # jinja2 is not installed (demo_site/settings.py adds it only then)
        return render(request, "shop/jinja_missing.html", status=501)
    return render(request, "shop/jinja_books.html", {"books": books, "tags": tags}, using="jinja2")


class _DryRun(Exception):
    """Raised at the end of the transaction page's atomic block with ?fail=1: everything is rolled back."""


def transaction_demo(request: HttpRequest) -> HttpResponse:
    # An explicit atomic() block with a nested one (a savepoint) that fails on purpose: the second review
    # by the same reviewer breaks the one-review-per-reviewer rule, so the inner block is rolled back to
    # its savepoint and the outer one commits. ?fail=1 makes the outer block fail too: ROLLBACK.
    fail = request.GET.get("fail") == "1"
    first = Review.objects.order_by("pk").values_list("pk", flat=True).first()
    context: dict[str, Any] = {"fail": fail, "empty": first is None}
    if first is None:
        return render(request, "shop/transaction.html", context)
    try:
        with transaction.atomic():
            review = Review.objects.select_related("book").get(pk=first)
            book = Book.objects.select_for_update().get(pk=review.book_id)  # locks the row on PostgreSQL
            try:
                with transaction.atomic():
                    Review.objects.create(book=book, reviewer=review.reviewer, rating=5, text="Once more!")
                context["refused"] = False
            except IntegrityError as exc:
                context["refused"] = str(exc).splitlines()[0]
            context["reviews"] = book.reviews.count()
            context["book"], context["reviewer"] = book, review.reviewer
            if fail:
                raise _DryRun
        context["outcome"] = "committed"
    except _DryRun:
        context["outcome"] = "rolled back"
    return render(request, "shop/transaction.html", context)


def book_detail(request: HttpRequest, pk: int) -> HttpResponse:
    book = get_object_or_404(Book.objects.select_related("author"), pk=pk)
    context = {"book": book, "reviews": list(book.reviews.all()), "tags": list(book.tags.all())}
    return render(request, "shop/book_detail.html", context)


async def async_books(request: HttpRequest) -> HttpResponse:
    count = await Book.objects.acount()
    recent = [book async for book in Book.objects.select_related("author").order_by("-published")[:5]]
    # Your own code as a span of the trace (lifecycle.span): its query nests inside it.
    async with lifecycle.span("best rated books", limit=5):
        best_rated = await sync_to_async(_best_rated_books)()
    # Everything the template reads is loaded above: rendering in the event loop runs no query.
    context = {"count": count, "recent": recent, "best_rated": best_rated}
    return render(request, "shop/async_books.html", context)


def _best_rated_books(limit: int = 5) -> list[Book]:
    books = Book.objects.select_related("author").annotate(avg_rating=Avg("reviews__rating"))
    return list(books.order_by("-avg_rating", "title")[:limit])


def slow(request: HttpRequest) -> HttpResponse:
    try:
        delay_ms = _delay_ms(request)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    books = Book.objects.count()
    time.sleep(delay_ms / 1000)
    reviews = Review.objects.count()
    context = {"delay_ms": delay_ms, "books": books, "reviews": reviews, "is_async": False}
    return render(request, "shop/slow.html", context)


async def slow_async(request: HttpRequest) -> HttpResponse:
    try:
        delay_ms = _delay_ms(request)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    books = await Book.objects.acount()
    await asyncio.sleep(delay_ms / 1000)
    reviews = await Review.objects.acount()
    context = {"delay_ms": delay_ms, "books": books, "reviews": reviews, "is_async": True}
    return render(request, "shop/slow.html", context)


def _delay_ms(request: HttpRequest) -> int:
    ms = _query_int(request, "ms")
    return SLOW_DEFAULT_MS if ms is None else min(ms, SLOW_MAX_MS)


def _query_int(request: HttpRequest, name: str) -> int | None:
    """The query parameter `name` as a non-negative int, None when absent; ValueError when malformed."""
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise ValueError(f"Expected a non-negative integer for ?{name}=, got {raw!r}.")
    return int(raw)


def error(request: HttpRequest) -> HttpResponse:
    Book.objects.count()  # some work before the failure, for the trace to show
    _fail()


def _fail() -> NoReturn:
    raise ValueError("Deliberate error from the demo error view")


def api_books(request: HttpRequest) -> JsonResponse:
    try:
        limit = _query_int(request, "limit")
    except ValueError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    books = Book.objects.select_related("author").order_by("title")
    if limit is not None:
        books = books[:limit]
    data = [
        {
            "id": book.pk,
            "title": book.title,
            "author": book.author.name,
            "published": book.published.isoformat(),
            "price": str(book.price),
        }
        for book in books
    ]
    return JsonResponse({"count": len(data), "books": data})


def cached(request: HttpRequest) -> HttpResponse:
    if request.GET.get("refresh"):
        cache.delete_many([STATS_KEY, STATS_COMPUTED_AT_KEY, STATS_SERVED_KEY])
    stats = cache.get(STATS_KEY)
    hit = stats is not None
    if stats is None:
        stats = _shop_stats()
        cache.set(STATS_KEY, stats, STATS_TIMEOUT)
        cache.set(STATS_COMPUTED_AT_KEY, timezone.now(), STATS_TIMEOUT)
        cache.set(STATS_SERVED_KEY, 0, STATS_TIMEOUT)
    else:
        with contextlib.suppress(ValueError):  # the counter expired just before the statistics did
            cache.incr(STATS_SERVED_KEY)
    meta = cache.get_many([STATS_COMPUTED_AT_KEY, STATS_SERVED_KEY])
    context = {
        "hit": hit,
        "stats": stats,
        "computed_at": meta.get(STATS_COMPUTED_AT_KEY),
        "served": meta.get(STATS_SERVED_KEY, 0),
        "timeout": STATS_TIMEOUT,
    }
    return render(request, "shop/cached.html", context)


def _shop_stats() -> dict[str, Any]:
    books = Book.objects.aggregate(
        books=Count("id"),
        authors=Count("author", distinct=True),
        avg_price=Avg("price"),
        first_published=Min("published"),
        last_published=Max("published"),
    )
    reviews = Review.objects.aggregate(reviews=Count("id"), avg_rating=Avg("rating"))
    top_authors = (
        Author.objects.annotate(avg_rating=Avg("books__reviews__rating"), reviews=Count("books__reviews"))
        .filter(reviews__gt=0)
        .order_by("-avg_rating", "name")
        .values("name", "avg_rating", "reviews")[:3]
    )
    return {**books, **reviews, "top_authors": list(top_authors)}


@require_http_methods(["GET", "POST"])
def login_form(request: HttpRequest) -> HttpResponse:
    # Looks like a login, signs nobody in: it exists to show that the password is redacted in traces.
    signed_in_as = None
    if request.method == "POST":
        form = LoginForm(request.POST)
        if form.is_valid():
            signed_in_as = form.cleaned_data["username"]
    else:
        form = LoginForm()
    return render(request, "shop/login.html", {"form": form, "signed_in_as": signed_in_as})


def stream(request: HttpRequest) -> StreamingHttpResponse:
    head, tail = render_to_string("shop/stream.html", request=request).split(STREAM_MARKER)
    # Hand the server the kind of iterator it consumes natively: Django buffers a sync iterator under
    # ASGI (and an async one under WSGI) into a list, with a warning, which would defeat streaming.
    parts = _astream_parts(head, tail) if isinstance(request, ASGIRequest) else _stream_parts(head, tail)
    return StreamingHttpResponse(parts, content_type="text/html; charset=utf-8")


def _stream_books() -> QuerySet[Book]:
    return Book.objects.select_related("author").order_by("title")[:STREAM_BOOKS]


def _stream_row(book: Book) -> str:
    url = reverse("book-detail", args=[book.pk])
    return format_html('<li><a href="{}">{}</a> by {}</li>\n', url, book.title, book.author.name)


def _stream_parts(head: str, tail: str) -> Iterator[str]:
    yield head
    for book in _stream_books():  # the query runs here, while the response streams
        yield _stream_row(book)
    yield tail


async def _astream_parts(head: str, tail: str) -> AsyncIterator[str]:
    yield head
    async for book in _stream_books():
        yield _stream_row(book)
    yield tail


def live_counter(request: HttpRequest) -> HttpResponse:
    """The page of the websocket consumer ``demo_site.shop.consumers.CounterConsumer`` (``/ws/counter/``)."""
    return render(request, "shop/live.html", {"books": Book.objects.count()})


async def outbound(request: HttpRequest) -> HttpResponse:
    """An outbound HTTP call (an ``http_out`` span): this site's own JSON API, fetched over HTTP from the
    server's own port on the loopback address (never a host taken from the request). Async, with the call
    in a worker thread: a sync view calling its own server would wait for the thread it holds."""
    port = _own_port(request)
    url = f"http://127.0.0.1:{port}{reverse('api-books')}?limit=3" if port else ""
    titles: list[str] = []
    problem = "" if port else "this server's port is unknown here (run the demo with make demo)"
    if url:
        try:
            titles = await asyncio.to_thread(_fetch_titles, url)
        except (OSError, ValueError, KeyError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
    return render(request, "shop/outbound.html", {"url": url, "titles": titles, "problem": problem})


def _fetch_titles(url: str) -> list[str]:
    with urllib.request.urlopen(url, timeout=5) as answer:  # the http_out span's line
        return [book["title"] for book in json.load(answer)["books"]]


def _own_port(request: HttpRequest) -> int | None:
    try:
        port = int(request.META.get("SERVER_PORT") or 0)
    except ValueError:
        return None
    return port if 0 < port < 65536 and port != 80 else None
