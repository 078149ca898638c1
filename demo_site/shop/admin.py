from __future__ import annotations

from django.contrib import admin

from demo_site.shop.models import Author, Book, Review, Tag


class ReviewInline(admin.TabularInline):
    model = Review
    extra = 0


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    list_display = ["title", "author", "published", "price"]
    list_select_related = ["author"]
    list_filter = ["tags"]
    search_fields = ["title", "author__name"]
    filter_horizontal = ["tags"]
    inlines = [ReviewInline]


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["book", "reviewer", "rating"]
    list_select_related = ["book"]


admin.site.register(Tag)
