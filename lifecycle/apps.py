from __future__ import annotations

from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "lifecycle"
    verbose_name = "Request lifecycle"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from lifecycle import checks  # noqa: F401  (registers the system checks)
        from lifecycle.instruments import install_all

        install_all()
