from __future__ import annotations

from django.urls import path

from demo_site.shop import views

urlpatterns = [
    path("", views.home, name="home"),
    path("books/", views.book_list, name="book-list"),
    path("books/fixed/", views.book_list_fixed, name="book-list-fixed"),
    path("books/<int:pk>/", views.book_detail, name="book-detail"),
    path("cards/", views.book_cards, name="book-cards"),
    path("cards/fixed/", views.book_cards_fixed, name="book-cards-fixed"),
    path("jinja/", views.jinja_books, name="jinja-books"),
    path("transaction/", views.transaction_demo, name="transaction"),
    path("async/", views.async_books, name="async-books"),
    path("slow/", views.slow, name="slow"),
    path("slow/async/", views.slow_async, name="slow-async"),
    path("error/", views.error, name="error"),
    path("api/books/", views.api_books, name="api-books"),
    path("cached/", views.cached, name="cached"),
    path("account/login/", views.login_form, name="login-form"),
    path("stream/", views.stream, name="stream"),
    path("live/", views.live_counter, name="live-counter"),
    path("outbound/", views.outbound, name="outbound"),
]
