"""A small Django project generated with pytester, run in a subprocess (its settings are configured
inline, so it cannot share this process, whose Django is set up with tests.settings)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lifecycle.trace import Trace

CONFTEST = """
from django.conf import settings


def pytest_configure(config):
    settings.configure(
        SECRET_KEY="replay-tests",
        DEBUG=False,
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
                        "lifecycle", "shop"],
        MIDDLEWARE=["lifecycle.middleware.LifecycleMiddleware",
                    "django.contrib.sessions.middleware.SessionMiddleware",
                    "django.contrib.auth.middleware.AuthenticationMiddleware"],
        ROOT_URLCONF="shop.urls",
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        USE_TZ=True,
        LIFECYCLE=%(lifecycle)s,
    )
"""

MODELS = """
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)


class Book(models.Model):
    title = models.CharField(max_length=100)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
"""

URLS = """
from django.urls import path

from shop import views

urlpatterns = [
    path("books/", views.books, name="books"),
    path("books/fixed/", views.books_fixed, name="books-fixed"),
]
"""

# The views as recorded: the page names the author of its first book ("featured"), one query.
VIEWS_V1 = """
from django.shortcuts import render

from shop.models import Book


def books(request):
    books = list(Book.objects.order_by("title"))
    featured = books[0].author.name
    return render(request, "shop/books.html", {"books": books, "featured": featured})


def books_fixed(request):
    books = list(Book.objects.select_related("author").order_by("title"))
    featured = books[0].author.name
    return render(request, "shop/books.html", {"books": books, "featured": featured})
"""

# The next version shows every book's author: `books` gains an N+1, its twin joins the authors in.
VIEWS_V2 = """
from django.shortcuts import render

from shop.models import Book


def books(request):
    books = list(Book.objects.order_by("title"))
    authors = [book.author.name for book in books]
    return render(request, "shop/books.html", {"books": books, "featured": authors[0]})


def books_fixed(request):
    books = list(Book.objects.select_related("author").order_by("title"))
    authors = [book.author.name for book in books]
    return render(request, "shop/books.html", {"books": books, "featured": authors[0]})
"""

# Same queries as V1, another template set: a table without the row include.
VIEWS_TABLE = VIEWS_V1.replace('"shop/books.html"', '"shop/books_table.html"')

TEMPLATES = {
    "books.html": (
        "<p>Featured: {{ featured }}</p>{% for book in books %}{% include 'shop/_row.html' %}{% endfor %}"
    ),
    "_row.html": "<li>{{ book.title }}</li>",
    "books_table.html": (
        "<table>{% for book in books %}<tr><td>{{ book.title }}</td></tr>{% endfor %}</table>"
    ),
}

TESTS = """
import pytest
from django.test import TestCase

import lifecycle
from lifecycle.replay import ReplayTestMixin
from shop.models import Author, Book


def make_books():
    for i in range(4):
        Book.objects.create(title=f"Book {i}", author=Author.objects.create(name=f"Author {i}"))


@pytest.fixture
def books(db):
    make_books()


def test_books(lifecycle_replay, books):
    lifecycle_replay("traces/books.json", url="/books/")


def test_books_fixed(lifecycle_replay, books):
    lifecycle_replay("traces/books_fixed.json", url="/books/fixed/")


def test_visit(client, books):
    with lifecycle.record("traces/visit.json"):
        assert client.get("/books/").status_code == 200
        assert client.get("/books/fixed/").status_code == 200


@pytest.mark.django_db
@lifecycle.record("traces/decorated.json")
def test_decorated(client):
    make_books()
    client.get("/books/")


class BooksTests(ReplayTestMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        make_books()

    def test_books(self):
        self.assertTraceReplays("traces/unittest_books.json", url="/books/")
"""

TRACE_FILES = ("books.json", "books_fixed.json", "visit.json", "decorated.json", "unittest_books.json")
# The "lifecycle trace files written" summary of the project's first run: by file, whatever order the tests
# ran in (pytest-randomly, xdist).
FIRST_RUN_WRITTEN = [
    "*lifecycle trace files written*",
    "traces/books.json (GET /books/): recorded on first run (record mode once)",
    "traces/books_fixed.json (GET /books/fixed/): recorded on first run (record mode once)",
    "traces/decorated.json (block 'test_decorated', 1 request): recorded on first run (record mode*",
    "traces/unittest_books.json (GET /books/): recorded on first run (record mode once)",
    "traces/visit.json (block 'visit', 2 requests): recorded on first run (record mode once)",
]


class Project:
    """The generated project: ``shop`` (models, urls, views, templates), a conftest, a test module."""

    def __init__(self, pytester: pytest.Pytester | None, path: Path) -> None:
        self.pytester = pytester
        self.path = path
        self.settings()
        self.write("shop/__init__.py", "")
        self.write("shop/models.py", MODELS)
        self.write("shop/urls.py", URLS)
        for name, text in TEMPLATES.items():
            self.write(f"shop/templates/shop/{name}", text)
        self.views(VIEWS_V1)
        self.write("test_pages.py", TESTS)

    def settings(self, **lifecycle: Any) -> None:
        self.write("conftest.py", CONFTEST % {"lifecycle": repr(lifecycle)})

    def views(self, source: str) -> None:
        self.write("shop/views.py", source)

    def write(self, relative: str, text: str) -> Path:
        path = self.path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    def run(self, *args: str) -> pytest.RunResult:
        assert self.pytester is not None
        return self.pytester.runpytest_subprocess(*RUN_ARGS, *args)

    def recorded(self, traces: Path) -> Project:
        """Start from the shared recording of the V1 views (see ``recorded_traces``)."""
        shutil.copytree(traces, self.path / "traces")
        return self

    def trace(self, name: str) -> Trace:
        return Trace.load(self.path / "traces" / name)

    def raw(self, name: str) -> dict[str, Any]:
        return json.loads((self.path / "traces" / name).read_text())


# The checkout under test, first on the projects' path: an installed lifecycle (an editable install of
# another checkout) would otherwise be the one their runs import.
ROOT = str(Path(__file__).resolve().parents[2])
# Only pytest-django and our plugin matter in the project's runs; fewer plugins, faster runs.
RUN_ARGS = (
    "-p",
    "no:cacheprovider",
    "-p",
    "no:asyncio",
    "-p",
    "no:playwright",
    "-p",
    "no:base_url",
    "--no-migrations",
)


def _clean_env(env) -> None:
    # The outer run exported tests.settings (pytest-django does); the project configures its own.
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("CI", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # views.py is rewritten within the same second
    env["PYTHONPATH"] = ROOT


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("PYTHONPATH", ROOT)  # pytester puts the project's folder before it
    return Project(pytester, Path(pytester.path))


@pytest.fixture(scope="module")
def recorded_traces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trace files of the V1 project, recorded once per module (one subprocess) for the tests that
    start from a recording."""
    root = tmp_path_factory.mktemp("recorded")
    Project(None, root)
    env = dict(os.environ)
    _clean_env(env)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *RUN_ARGS, "-q"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in (root / "traces").iterdir()) == sorted(TRACE_FILES)
    return root / "traces"


@pytest.fixture(autouse=True)
def _replay_defaults(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """These tests choose their record modes: neither CI=true (set by CI services) nor a
    --lifecycle-record option given to the whole run applies. The files they write to temporary
    folders stay out of the run's terminal summary."""
    from lifecycle.replay import options as replay_options

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(replay_options, "cli_mode", None)
    yield
    replay_options.written.clear()
