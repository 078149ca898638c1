"""The demo site answers as its pages promise, with the seed data loaded."""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import AsyncClient, Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from demo_site.database_url import parse_database_url
from demo_site.shop import seed_data, views
from demo_site.shop.models import Author, Book, Review, Tag
from lifecycle.trace import Span, Trace
from tests.conftest import last_trace


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(db: None) -> str:
    return seed()


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    # LocMemCache lives as long as the process: the cached view must start from a miss in every test.
    cache.clear()
    yield
    cache.clear()


def author_queries(statements: list[str]) -> list[str]:
    return [sql for sql in statements if 'FROM "shop_author"' in sql]


def sqls(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries]


def snapshot() -> dict[str, list[Any]]:
    return {
        "authors": list(Author.objects.order_by("pk").values_list()),
        "tags": list(Tag.objects.order_by("pk").values_list()),
        "books": list(Book.objects.order_by("pk").values_list()),
        "book_tags": list(
            Book.tags.through.objects.order_by("book_id", "tag_id").values_list("book_id", "tag_id")
        ),
        "reviews": list(Review.objects.order_by("pk").values_list()),
    }


# Seeding


@pytest.mark.django_db
def test_seed_loads_the_catalogue(seeded: str) -> None:
    assert Author.objects.count() == len(seed_data.AUTHORS) == 8
    assert Book.objects.count() == len(seed_data.BOOKS) == 20
    assert Review.objects.count() == len(seed_data.REVIEWS) == 60
    assert Tag.objects.count() == len(seed_data.TAGS) == 6
    assert "books: 20 (20 created, 0 updated, 0 unchanged)" in seeded
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
@pytest.mark.sql_backends
def test_seed_is_idempotent(seeded: str) -> None:
    before = snapshot()
    out = seed()
    assert snapshot() == before
    assert "authors: 8 (0 created, 0 updated, 8 unchanged)" in out
    assert "reviews: 60 (0 created, 0 updated, 60 unchanged)" in out


@pytest.mark.django_db
@pytest.mark.sql_backends
def test_seed_restores_changed_rows(seeded: str) -> None:
    before = snapshot()
    book = Book.objects.get(title="Market Day")
    book.price = Decimal("1.00")
    book.save()
    book.tags.clear()
    Review.objects.filter(book=book).first().delete()
    out = seed()
    assert "books: 20 (0 created, 1 updated, 19 unchanged)" in out
    assert "reviews: 60 (1 created, 0 updated, 59 unchanged)" in out
    after = snapshot()
    assert after["books"] == before["books"]
    assert after["book_tags"] == before["book_tags"]
    assert len(after["reviews"]) == len(before["reviews"])


@pytest.mark.django_db
def test_seed_with_admin_creates_a_superuser_once(seeded: str) -> None:
    assert "admin user: created" in seed("--with-admin")
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser and admin.check_password("admin")
    assert "admin user: already exists" in seed("--with-admin")
    assert get_user_model().objects.count() == 1


# Every page answers


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url_name, query, status",
    [
        ("home", "", 200),
        ("book-list", "", 200),
        ("book-list-fixed", "", 200),
        ("async-books", "", 200),
        ("slow", "?ms=10", 200),
        ("slow-async", "?ms=10", 200),
        ("api-books", "", 200),
        ("cached", "", 200),
        ("login-form", "", 200),
        ("stream", "", 200),
        ("book-cards", "", 200),
        ("book-cards-fixed", "", 200),
        ("jinja-books", "", 200),
        ("transaction", "", 200),
        ("transaction", "?fail=1", 200),
    ],
)
def test_page_answers(seeded: str, client: Client, url_name: str, query: str, status: int) -> None:
    response = client.get(reverse(url_name) + query)
    assert response.status_code == status


@pytest.mark.django_db
def test_home_links_to_every_page_and_the_dashboard(seeded: str, client: Client) -> None:
    content = client.get("/").content.decode()
    first_book = Book.objects.order_by("pk").first()
    for url_name in [
        "book-list",
        "book-list-fixed",
        "async-books",
        "slow",
        "slow-async",
        "error",
        "api-books",
        "cached",
        "login-form",
        "stream",
        "book-cards",
        "book-cards-fixed",
        "jinja-books",
        "transaction",
    ]:
        assert f'href="{reverse(url_name)}' in content, url_name
    assert f'href="{reverse("book-detail", args=[first_book.pk])}"' in content
    assert 'href="/__lifecycle__/"' in content
    assert "seed_demo</code> first" not in content


@pytest.mark.django_db
def test_home_asks_for_seed_data_when_empty(client: Client) -> None:
    assert "seed_demo</code> first" in client.get("/").content.decode()


@pytest.mark.django_db
def test_unknown_path_is_a_404(seeded: str, client: Client) -> None:
    assert client.get("/no-such-page/").status_code == 404
    assert client.get(reverse("book-detail", args=[999_999])).status_code == 404


# The N+1 page and its fix


@pytest.mark.django_db
@pytest.mark.sql_backends
def test_book_list_runs_one_author_query_per_book(seeded: str, client: Client) -> None:
    books = Book.objects.count()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("book-list"))
    assert response.status_code == 200
    assert len(author_queries(sqls(ctx))) == books
    assert len(ctx.captured_queries) == 1 + books
    assert "N+1" in response.content.decode()


@pytest.mark.django_db
def test_book_list_author_queries_grow_with_the_books(seeded: str, client: Client) -> None:
    author = Author.objects.create(name="Extra Author")
    for i in range(5):
        Book.objects.create(title=f"Extra {i}", author=author, published="2024-01-01", price="9.99")
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("book-list"))
    assert len(author_queries(sqls(ctx))) == 25
    assert len(ctx.captured_queries) == 26


@pytest.mark.django_db
@pytest.mark.sql_backends
def test_book_list_fixed_runs_a_constant_number_of_queries(seeded: str, client: Client) -> None:
    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("book-list-fixed"))
        assert response.status_code == 200
        return sqls(ctx)

    with_20 = queries()
    author = Author.objects.create(name="Extra Author")
    for i in range(10):
        Book.objects.create(title=f"Extra {i}", author=author, published="2024-01-01", price="9.99")
    with_30 = queries()
    assert len(with_20) == len(with_30) == 2
    assert len(set(with_30)) == len(with_30)
    assert author_queries(with_30) == []


@pytest.mark.django_db
def test_both_book_lists_show_the_same_books(seeded: str, client: Client) -> None:
    naive = client.get(reverse("book-list")).content.decode()
    fixed = client.get(reverse("book-list-fixed")).content.decode()
    for book in Book.objects.select_related("author"):
        for page in (naive, fixed):
            assert book.title in page.replace("&#x27;", "'")
            assert book.author.name in page
    assert '<span class="tag">mystery</span>' in fixed


# The template N+1 (a {% for %} that includes a card per book) and its fix


def author_spans(trace: Trace) -> list[Span]:
    return [s for s in trace.spans_of("sql") if 'FROM "shop_author"' in s.attrs["sql"]]


@pytest.mark.django_db
@pytest.mark.sql_backends
def test_book_cards_run_one_author_query_per_card(seeded: str, client: Client) -> None:
    books = Book.objects.count()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("book-cards"))
    assert response.status_code == 200
    assert len(author_queries(sqls(ctx))) == books
    trace = last_trace()
    assert len(trace.spans_of("sql")) == len(ctx.captured_queries) == 1 + books
    by_id = {s.id: s for s in trace.spans}
    spans = author_spans(trace)
    assert len(spans) == books
    for span in spans:  # each query runs inside its own include of the card
        parent = by_id[span.parent_id]
        assert (parent.kind, parent.name, parent.attrs["via"]) == ("template", "shop/_book_card.html", "include")
    assert len({s.parent_id for s in spans}) == books
    # The query names the card's line, then the include and the loop that ran it.
    stack = [(f["template"], f["line"], f["source"]) for f in spans[0].attrs["template_stack"]]
    assert stack[:3] == [
        ("shop/_book_card.html", 3, "{{ book.author.name }}"),
        ("shop/book_cards.html", 18, '{% include "shop/_book_card.html" %}'),
        ("shop/book_cards.html", 17, "{% for book in books %}"),
    ]
    groups = trace.summary["duplicate_groups"]
    assert [g["count"] for g in groups] == [books]
    assert "shop_author" in groups[0]["fingerprint"]
    assert groups[0]["n_plus_one"] is True
    assert trace.summary["n_plus_one"] == 1


@pytest.mark.django_db
@pytest.mark.sql_backends
def test_book_cards_fixed_run_one_query(seeded: str, client: Client) -> None:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("book-cards-fixed"))
    assert response.status_code == 200
    assert len(ctx.captured_queries) == 1
    trace = last_trace()
    assert author_spans(trace) == []
    assert trace.summary["queries"] == 1
    assert trace.summary["duplicate_groups"] == [] and trace.summary["n_plus_one"] == 0
    cards = [s for s in trace.spans_of("template") if s.name == "shop/_book_card.html"]
    assert len(cards) == Book.objects.count()


@pytest.mark.django_db
def test_both_card_pages_show_the_same_books(seeded: str, client: Client) -> None:
    naive = client.get(reverse("book-cards")).content.decode().replace("&#x27;", "'")
    fixed = client.get(reverse("book-cards-fixed")).content.decode().replace("&#x27;", "'")
    for book in Book.objects.select_related("author"):
        for page in (naive, fixed):
            assert book.title in page and f"by {book.author.name}" in page
    assert "N+1" in naive and "fixed" in fixed


# The Jinja2 page


@pytest.mark.django_db
@pytest.mark.sql_backends
def test_jinja_page_queries_run_inside_its_templates(seeded: str, client: Client) -> None:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("jinja-books"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "rendered by Jinja2" in content
    book = Book.objects.select_related("author").order_by("title").first()
    assert f'href="{reverse("book-detail", args=[book.pk])}"' in content and book.author.name in content
    trace = last_trace()
    assert len(trace.spans_of("sql")) == len(ctx.captured_queries) == 2
    templates = [(s.name, s.attrs["via"]) for s in trace.spans_of("template")]
    assert templates[:2] == [("shop/jinja_books.html", "render"), ("shop/jinja_base.html", "extends")]
    assert templates.count(("shop/_book_row.html", "include")) == Book.objects.count()
    for span in trace.spans_of("sql"):
        assert span.attrs["template_stack"][0]["template"] == "shop/jinja_books.html"
    assert trace.summary["duplicate_groups"] == []


@pytest.mark.django_db
def test_jinja_page_without_jinja2_says_how_to_install_it(seeded: str, client: Client) -> None:
    django_only = [t for t in settings.TEMPLATES if t["BACKEND"].endswith("DjangoTemplates")]
    with override_settings(TEMPLATES=django_only):
        response = client.get(reverse("jinja-books"))
        home = client.get("/")
    assert response.status_code == 501
    assert "pip install -e '.[demo]'" in response.content.decode()
    assert home.status_code == 200


def test_settings_add_the_jinja2_backend_after_djangos() -> None:
    backends = [t["BACKEND"] for t in settings.TEMPLATES]
    assert backends == ["django.template.backends.django.DjangoTemplates", "django.template.backends.jinja2.Jinja2"]


# The transaction page


@pytest.fixture
def seeded_tx(transactional_db: None) -> str:
    """Seed data committed for real: the page's atomic() blocks then BEGIN and COMMIT (inside a test's own
    transaction they would be savepoints)."""
    return seed()


def control(sql: str) -> str:
    """Transaction control without its savepoint name; "" for other statements."""
    if not sql.upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
        return ""
    return re.sub(r' "?s\d+_x\d+"?$', "", sql)


@pytest.mark.sql_backends
@pytest.mark.parametrize(
    "query, outcome, last",
    [("", "committed", "COMMIT"), ("?fail=1", "rolled back", "ROLLBACK")],
)
def test_transaction_page_shows_each_statement(seeded_tx: str, query: str, outcome: str, last: str) -> None:
    before = snapshot()
    client = Client()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("transaction") + query)
    assert response.status_code == 200
    content = response.content.decode()
    assert f"<strong>{outcome}</strong>" in content and "refused (" in content
    spans = last_trace().spans_of("sql")
    assert len(spans) == len(ctx.captured_queries)
    controls = [control(s.attrs["sql"]) for s in spans if control(s.attrs["sql"])]
    assert controls == ["BEGIN", "SAVEPOINT", "ROLLBACK TO SAVEPOINT", "RELEASE SAVEPOINT", last]
    assert [control(q["sql"]) for q in ctx.captured_queries if control(q["sql"])] == controls
    assert all(s.attrs["transaction"] is True for s in spans if control(s.attrs["sql"]))
    # The refused insert sits between its savepoint and the rollback to it, with the database's error.
    names = [control(s.attrs["sql"]) or s.attrs["sql"] for s in spans]
    insert = spans[names.index("SAVEPOINT") + 1]
    assert insert.attrs["sql"].startswith('INSERT INTO "shop_review"')
    assert insert.attrs["error"].startswith("IntegrityError")
    assert names[names.index("SAVEPOINT") + 2] == "ROLLBACK TO SAVEPOINT"
    assert snapshot() == before  # the shop is as it was


# Other pages


@pytest.mark.django_db
def test_book_detail_renders_nested_templates(seeded: str, client: Client) -> None:
    book = Book.objects.get(title="Low Tide at Fårö")
    response = client.get(reverse("book-detail", args=[book.pk]))
    assert response.status_code == 200
    names = [t.name for t in response.templates]
    assert names[0] == "shop/book_detail.html"
    for name in ["shop/base.html", "shop/_nav.html", "shop/_tags.html", "shop/_review_list.html"]:
        assert name in names
    assert names.count("shop/_review.html") == book.reviews.count() == 3
    content = response.content.decode()
    assert "Ada Lindqvist" in content and '<span class="tag">travel</span>' in content


@pytest.mark.django_db
@pytest.mark.sql_backends
def test_async_view_with_async_client(seeded: str) -> None:
    # async_to_sync keeps the ORM calls on this thread, inside the test's transaction (as Django's own
    # TestCase does for async tests), so the seeded rows are visible.
    response = async_to_sync(AsyncClient().get)(reverse("async-books"))
    assert response.status_code == 200
    assert response.context["count"] == 20
    assert len(response.context["recent"]) == 5
    assert response.context["recent"][0].title == "Seeds for Europa"
    assert len(response.context["best_rated"]) == 5
    assert "<strong>20</strong> books" in response.content.decode()


@pytest.mark.django_db
def test_async_view_with_sync_client(seeded: str, client: Client) -> None:
    assert client.get(reverse("async-books")).context["count"] == 20


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["slow", "slow-async"])
def test_slow_views_sleep_between_two_queries(seeded: str, client: Client, url_name: str) -> None:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse(url_name) + "?ms=10")
    assert response.context["delay_ms"] == 10
    assert "10 ms" in response.content.decode()
    assert len(ctx.captured_queries) == 2
    assert client.get(reverse(url_name) + "?ms=soon").status_code == 400


def test_slow_delay_defaults_and_cap() -> None:
    factory = RequestFactory()
    assert views._delay_ms(factory.get("/slow/")) == 1500
    assert views._delay_ms(factory.get("/slow/?ms=99999")) == 10_000
    with pytest.raises(ValueError, match=r"Expected a non-negative integer for \?ms=, got '-5'"):
        views._delay_ms(factory.get("/slow/?ms=-5"))


@pytest.mark.django_db
def test_error_view_is_a_500(seeded: str) -> None:
    client = Client(raise_request_exception=False)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("error"))
    assert response.status_code == 500
    assert len(ctx.captured_queries) == 1


@pytest.mark.django_db
def test_error_view_raises_a_value_error(seeded: str, client: Client) -> None:
    with pytest.raises(ValueError, match="Deliberate error from the demo error view"):
        client.get(reverse("error"))


@pytest.mark.django_db
@pytest.mark.sql_backends
def test_api_returns_the_seeded_books_in_one_query(seeded: str, client: Client) -> None:
    with CaptureQueriesContext(connection) as ctx:
        data = client.get(reverse("api-books")).json()
    assert len(ctx.captured_queries) == 1
    assert data["count"] == 20
    assert [b["title"] for b in data["books"]] == sorted(row.title for row in seed_data.BOOKS)
    expected = {row.title: row.author for row in seed_data.BOOKS}
    assert {b["title"]: b["author"] for b in data["books"]} == expected
    assert set(data["books"][0]) == {"id", "title", "author", "published", "price"}


@pytest.mark.django_db
def test_api_limit(seeded: str, client: Client) -> None:
    data = client.get(reverse("api-books") + "?limit=5").json()
    assert data["count"] == len(data["books"]) == 5
    response = client.get(reverse("api-books") + "?limit=many")
    assert response.status_code == 400
    assert response.json() == {"error": "Expected a non-negative integer for ?limit=, got 'many'."}


@pytest.mark.django_db
@pytest.mark.sql_backends
def test_cached_view_misses_then_hits(seeded: str, client: Client) -> None:
    with CaptureQueriesContext(connection) as miss_queries:
        miss = client.get(reverse("cached"))
    assert miss.context["hit"] is False
    assert "Cache miss" in miss.content.decode()
    assert miss.context["stats"]["books"] == 20
    assert miss.context["stats"]["reviews"] == 60
    assert len(miss_queries.captured_queries) > 0

    with CaptureQueriesContext(connection) as hit_queries:
        hit = client.get(reverse("cached"))
    assert hit.context["hit"] is True
    assert "Cache hit" in hit.content.decode()
    assert hit.context["served"] == 1
    assert hit.context["stats"] == miss.context["stats"]
    assert hit_queries.captured_queries == []

    assert client.get(reverse("cached") + "?refresh=1").context["hit"] is False


@pytest.mark.django_db
def test_login_form_get_has_a_csrf_token(client: Client) -> None:
    content = client.get(reverse("login-form")).content.decode()
    assert "csrfmiddlewaretoken" in content
    assert 'type="password"' in content


@pytest.mark.django_db
def test_login_form_post_pretends_to_sign_in(client: Client) -> None:
    response = client.post(reverse("login-form"), {"username": "alice", "password": "hunter2"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Pretend signed in as <strong>alice</strong>" in content
    assert "hunter2" not in content
    assert "_auth_user_id" not in client.session
    assert not response.wsgi_request.user.is_authenticated


@pytest.mark.django_db
def test_login_form_post_needs_both_fields(client: Client) -> None:
    response = client.post(reverse("login-form"), {"username": "alice"})
    assert response.status_code == 200
    assert response.context["signed_in_as"] is None
    assert "Pretend signed in" not in response.content.decode()


@pytest.mark.django_db
def test_login_form_enforces_csrf() -> None:
    response = Client(enforce_csrf_checks=True).post(
        reverse("login-form"), {"username": "a", "password": "b"}
    )
    assert response.status_code == 403


@pytest.mark.django_db
@pytest.mark.sql_backends
def test_stream_queries_while_streaming(seeded: str, client: Client) -> None:
    with CaptureQueriesContext(connection) as in_view:
        response = client.get(reverse("stream"))
    assert response.streaming
    assert in_view.captured_queries == []
    with CaptureQueriesContext(connection) as while_streaming, warnings.catch_warnings():
        warnings.simplefilter("error")
        chunks = list(response.streaming_content)
    assert len(while_streaming.captured_queries) == 1
    assert len(chunks) == 2 + views.STREAM_BOOKS
    body = b"".join(chunks).decode()
    first_titles = sorted(row.title for row in seed_data.BOOKS)[: views.STREAM_BOOKS]
    assert all(title in body.replace("&#x27;", "'") for title in first_titles)
    assert body.rstrip().endswith("</html>")


@pytest.mark.django_db
def test_stream_is_async_under_asgi(seeded: str) -> None:
    async def fetch() -> tuple[bool, bytes]:
        response = await AsyncClient().get(reverse("stream"))
        return response.is_async, b"".join([chunk async for chunk in response.streaming_content])

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        is_async, body = async_to_sync(fetch)()
    assert is_async
    assert b"Case Notes in Winter" in body


# Configuration


def test_settings_order() -> None:
    assert settings.INSTALLED_APPS[0] == "daphne"
    assert settings.MIDDLEWARE[0] == "lifecycle.middleware.LifecycleMiddleware"
    assert {"channels", "lifecycle", "demo_site.shop"} <= set(settings.INSTALLED_APPS)


def test_asgi_application_routes_http_and_websockets() -> None:
    from channels.routing import ProtocolTypeRouter

    from demo_site.asgi import application

    assert isinstance(application, ProtocolTypeRouter)
    assert set(application.application_mapping) == {"http", "websocket"}


@pytest.mark.parametrize(
    "url, expected",
    [
        (
            "postgres://shop:s%40cret@db.example:5433/bookshop?sslmode=require",
            {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "bookshop",
                "USER": "shop",
                "PASSWORD": "s@cret",
                "HOST": "db.example",
                "PORT": "5433",
                "OPTIONS": {"sslmode": "require"},
            },
        ),
        (
            "postgresql://localhost/bookshop",
            {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "bookshop",
                "USER": "",
                "PASSWORD": "",
                "HOST": "localhost",
                "PORT": "",
                "OPTIONS": {},
            },
        ),
        (
            "sqlite:///demo_site/other.sqlite3",
            {"ENGINE": "django.db.backends.sqlite3", "NAME": "/repo/demo_site/other.sqlite3"},
        ),
        (
            "sqlite:////tmp/shop.sqlite3",
            {"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/shop.sqlite3"},
        ),
        ("sqlite://", {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}),
        ("sqlite:///:memory:", {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}),
    ],
)
def test_parse_database_url(url: str, expected: dict[str, Any]) -> None:
    assert parse_database_url(url, Path("/repo")) == expected


@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://root:pw@localhost/shop", "got scheme 'mysql'"),
        ("postgres://user:pw@localhost:5432/", "expected a database name"),
        ("postgres://user:pw@localhost:port/shop", "expected a numeric port"),
    ],
)
def test_parse_database_url_rejects(url: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message) as excinfo:
        parse_database_url(url, Path("/repo"))
    assert "pw" not in str(excinfo.value)


@pytest.mark.django_db
def test_readme_shows_the_card_query_chain_the_demo_records(seeded: str, client: Client) -> None:
    from lifecycle.replay import compare

    client.get(reverse("book-cards"))
    (group,) = [g for g in compare.profile(last_trace()).queries.values() if g.n_plus_one]
    readme = " ".join((Path(settings.BASE_DIR) / "README.md").read_text().split())
    assert " ".join(group.where().split()) in readme
