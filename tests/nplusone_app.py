"""Views, URLs and a tag library for tests/test_nplusone.py (``pytest.mark.urls``): each N+1 shape a real
site has, and the shapes that are not N+1."""

from __future__ import annotations

import asyncio

from django import template
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path

from demo_site.shop.models import Author, Book

register = template.Library()


@register.inclusion_tag("nplusone/_card.html")
def book_card(book):
    return {"book": book}


def author_name(book) -> str:
    """A model property (installed on Book by the test that needs it)."""
    return book.author.name


class BookSerializer:
    def __init__(self, book) -> None:
        self.book = book

    def data(self) -> dict:
        return {"title": self.book.title, "author": self.book.author.name}


def cards(request):
    return render(request, "nplusone/cards.html", {"books": Book.objects.order_by("pk")})


def tagged(request):
    return render(request, "nplusone/tagged.html", {"books": Book.objects.order_by("pk")})


def nested(request):
    return render(request, "nplusone/nested.html", {"authors": Author.objects.order_by("pk")})


def python_loop(request):
    names = []
    for book in Book.objects.order_by("pk"):
        names.append(book.author.name)
    return render(request, "nplusone/plain.html", {"names": names})


def model_property(request):
    names = [book.np_author_name for book in Book.objects.order_by("pk")]
    return render(request, "nplusone/plain.html", {"names": names})


def serializer(request):
    names = [BookSerializer(book).data()["author"] for book in Book.objects.order_by("pk")]
    return render(request, "nplusone/plain.html", {"names": names})


def same_params(request):
    first = Author.objects.order_by("pk").first()
    names = [Author.objects.get(pk=first.pk).name for _ in range(5)]
    return render(request, "nplusone/plain.html", {"names": names})


def two_books(request):
    names = [book.author.name for book in Book.objects.order_by("pk")[:2]]
    return render(request, "nplusone/plain.html", {"names": names})


def two_sites(request):
    names = [book.author.name for book in Book.objects.order_by("pk")]
    return render(request, "nplusone/cards.html", {"books": Book.objects.order_by("pk"), "names": names})


def owners(request):
    # Every statement on auth_user names its password column, so its parameters are redacted.
    from django.contrib.auth.models import User

    names = [User.objects.get(pk=pk).username for pk in User.objects.order_by("pk").values_list("pk", flat=True)]
    return render(request, "nplusone/plain.html", {"names": names})


def one_owner_again(request):
    from django.contrib.auth.models import User

    first = User.objects.order_by("pk").first()
    names = [User.objects.get(pk=first.pk).username for _ in range(5)]
    return render(request, "nplusone/plain.html", {"names": names})


async def async_lookups(request):
    pks = [pk async for pk in Author.objects.order_by("pk").values_list("pk", flat=True)]
    first = await Author.objects.aget(pk=pks[0])
    second = await Author.objects.aget(pk=pks[1])
    third = await Author.objects.aget(pk=pks[2])
    return JsonResponse({"names": [first.name, second.name, third.name]})


async def async_loop(request):
    names = []
    async for book in Book.objects.order_by("pk"):
        names.append((await Author.objects.aget(pk=book.author_id)).name)
    return JsonResponse({"names": names})


async def author_name_of(pk):
    return (await Author.objects.aget(pk=pk)).name


async def async_gather(request):
    pks = [pk async for pk in Author.objects.order_by("pk").values_list("pk", flat=True)]
    count, name = await asyncio.gather(Author.objects.acount(), author_name_of(pks[0]))
    return JsonResponse({"count": count, "name": name})


GROWN = {"cards": False}  # the next version of `grow` also renders the cards (tests flip it)


def grow(request):
    books = Book.objects.order_by("pk")
    if GROWN["cards"]:
        return render(request, "nplusone/cards.html", {"books": books})
    return render(request, "nplusone/plain.html", {"names": [books[0].author.name]})


def one_book(request, pk):
    book = get_object_or_404(Book, pk=pk)
    return render(request, "nplusone/plain.html", {"names": [book.title]})


urlpatterns = [
    path("np/cards/", cards),
    path("np/tagged/", tagged),
    path("np/nested/", nested),
    path("np/loop/", python_loop),
    path("np/property/", model_property),
    path("np/serializer/", serializer),
    path("np/same/", same_params),
    path("np/two/", two_books),
    path("np/sites/", two_sites),
    path("np/grow/", grow),
    path("np/book/<int:pk>/", one_book),
    path("np/owners/", owners),
    path("np/async-lookups/", async_lookups),
    path("np/async-loop/", async_loop),
    path("np/async-gather/", async_gather),
    path("np/owner-again/", one_owner_again),
]
