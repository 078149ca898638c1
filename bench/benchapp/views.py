"""The two pages every mode serves.

heavy: an N+1 made in the template (1 query for the books, then one per ``book.author``: 21 queries),
       heavy.html extends base.html, which includes _footer.html.
light: one query and a tiny template.
"""

from django.shortcuts import render

from bench.benchapp.models import Book


def heavy(request):
    books = Book.objects.order_by("id")[:20]
    return render(request, "bench/heavy.html", {"books": books})


def light(request):
    return render(request, "bench/light.html", {"count": Book.objects.count()})


def seed() -> None:
    from bench.benchapp.models import Author

    if Book.objects.exists():
        return
    authors = Author.objects.bulk_create(Author(name=f"Author {i}") for i in range(20))
    Book.objects.bulk_create(Book(title=f"Book {i}", author=authors[i], price=10 + i) for i in range(20))
