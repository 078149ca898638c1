from __future__ import annotations

from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "lifecycle"
    verbose_name = "Request lifecycle"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from lifecycle import checks, policy  # noqa: F401  (registers the system checks)
        from lifecycle.instruments import install_all

        # Nothing is patched where lifecycle cannot record (ENABLED False, or None with DEBUG off):
        # lifecycle.policy installs the instruments when that changes, lifecycle.record() does too.
        if policy.enabled():
            install_all()
