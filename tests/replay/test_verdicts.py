"""Honest verdicts: an improvement is not a regression, and missing test data is named, not mistaken for code."""

from __future__ import annotations

import warnings

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from demo_site.shop.models import Book
from lifecycle.replay import ReplayImproved, TraceMismatch


@pytest.fixture
def cold_cache():
    cache.clear()
    yield
    cache.clear()


def test_an_n_plus_one_fixed_with_a_join_is_reported_as_an_improvement(lifecycle_replay, seeded, tmp_path):
    path = tmp_path / "books.json"
    lifecycle_replay(path, url="/books/")  # the N+1 page, recorded
    # The same page after the fix: the view now uses select_related (the demo's fixed twin).
    with pytest.raises(TraceMismatch) as failure:
        lifecycle_replay(path, url="/books/fixed/", view=False, templates=False)  # (the twin adds a tag list)
    message = str(failure.value)
    comparison = failure.value.comparison
    assert [f.check for f in comparison.failures] == ["fewer_queries"]
    assert comparison.improved and not comparison.suspects
    recorded, now = comparison.recorded.total_queries, comparison.actual.total_queries
    assert message.splitlines()[0].endswith(f"improved on the recording: {recorded} -> {now} queries, nothing "
                                            "worse (fewer_queries)")
    assert f"fewer_queries: improved: {recorded} -> {now} queries; re-record with --lifecycle-record=all" in message
    # What is gone, with the call site it ran from, then the JOIN that replaced it.
    assert "  gone: " in message and '"shop_author"' in message
    assert ("    in the recording: issued from shop/book_list.html:21 `{{ book.author.name }}` in "
            "shop/book_list.html:18 `{% for book in books %}`") in message
    assert "  new: " in message and '"shop_author"."name"' in message.split("Queries involved")[1]
    assert "new_queries" not in message  # the JOIN is part of the improvement, not a failure of its own


def test_an_improvement_passes_with_a_notice_when_asked(lifecycle_replay, seeded, tmp_path, settings):
    path = tmp_path / "books.json"
    lifecycle_replay(path, url="/books/")
    with pytest.warns(ReplayImproved, match="improved on the recording"):
        result = lifecycle_replay(path, url="/books/fixed/", view=False, templates=False, improvements="warn")
    assert any("re-record with --lifecycle-record=all" in note for note in result.notes)
    settings.LIFECYCLE = {"REPLAY_IMPROVEMENTS": "warn"}
    with pytest.warns(ReplayImproved):
        lifecycle_replay(path, url="/books/fixed/", view=False, templates=False)
    settings.LIFECYCLE = {"REPLAY_IMPROVEMENTS": "maybe"}
    with pytest.raises(Exception, match="REPLAY_IMPROVEMENTS.*expected one of 'fail', 'warn', got 'maybe'"):
        lifecycle_replay(path, url="/books/fixed/", view=False, templates=False)


def test_warn_does_not_hide_a_regression(lifecycle_replay, seeded, tmp_path):
    path = tmp_path / "fixed.json"
    lifecycle_replay(path, url="/books/fixed/")
    with pytest.raises(TraceMismatch) as failure, warnings.catch_warnings():
        warnings.simplefilter("error", ReplayImproved)
        lifecycle_replay(path, url="/books/", view=False, improvements="warn")
    assert "more_queries" in str(failure.value) or "new_queries" in str(failure.value)
    assert not failure.value.comparison.improved


def test_an_empty_test_database_is_named_not_called_an_improvement(lifecycle_replay, seeded, tmp_path):
    path = tmp_path / "books.json"
    lifecycle_replay(path, url="/books/")
    Book.objects.all().delete()
    with pytest.raises(TraceMismatch) as failure:
        lifecycle_replay(path)
    comparison = failure.value.comparison
    message = str(failure.value)
    assert not comparison.improved
    assert "Suspected (the difference may come from the test's data, not from the code):" in message
    assert any(s.startswith("missing data: ") and "times from one call site in the recording (once per row)"
               in s for s in comparison.suspects), comparison.suspects
    assert "looks like missing test data, not an improvement" in message
    assert message.index("Suspected") < message.index("fewer_queries:")


def test_a_missing_object_is_named(lifecycle_replay, seeded, tmp_path):
    book = Book.objects.order_by("pk").first()
    path = tmp_path / "detail.json"
    lifecycle_replay(path, url=f"/books/{book.pk}/")
    Book.objects.filter(pk=book.pk).delete()
    with pytest.raises(TraceMismatch) as failure:
        lifecycle_replay(path)
    assert any(s.startswith(f"missing data: /books/{book.pk}/ answered 404 where the recording got 200")
               for s in failure.value.comparison.suspects), failure.value.comparison.suspects


def test_a_missing_login_is_named(lifecycle_replay, db, tmp_path):
    get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    path = tmp_path / "admin.json"
    lifecycle_replay(path, url="/admin/", user="boss")
    with pytest.raises(TraceMismatch) as failure:
        lifecycle_replay(path, user=None)
    suspects = failure.value.comparison.suspects
    assert any(s.startswith("a missing login: /admin/ redirected to the login page (/admin/login/?next=")
               and "recorded as 'boss'" in s for s in suspects), suspects


def test_a_warm_cache_is_named(lifecycle_replay, seeded, cold_cache, client, tmp_path):
    path = tmp_path / "cached.json"
    lifecycle_replay(path, url="/cached/")  # recorded with a cold cache: the stats were computed
    client.get("/cached/")  # the test warmed it by accident
    with pytest.raises(TraceMismatch) as failure:
        lifecycle_replay(path)
    comparison = failure.value.comparison
    assert not comparison.improved
    assert any(s.startswith("a warm cache: ") and "hit now that missed in the recording" in s
               for s in comparison.suspects), comparison.suspects


def test_a_cold_cache_is_named_beside_the_grown_queries(lifecycle_replay, seeded, cold_cache, client, tmp_path):
    client.get("/cached/")
    path = tmp_path / "cached.json"
    lifecycle_replay(path, url="/cached/")  # recorded warm
    cache.clear()
    with pytest.raises(TraceMismatch) as failure:
        lifecycle_replay(path)
    assert any(s.startswith("a cold cache: ") for s in failure.value.comparison.suspects)
