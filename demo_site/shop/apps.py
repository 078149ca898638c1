from __future__ import annotations

from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "demo_site.shop"
    label = "shop"
    verbose_name = "Demo bookshop"
    default_auto_field = "django.db.models.BigAutoField"
