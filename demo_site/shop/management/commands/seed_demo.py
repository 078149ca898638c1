from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from demo_site.shop.seed import seed


class Command(BaseCommand):
    help = (
        "Fill the demo bookshop with fixed data (8 authors, 20 books, 60 reviews, 6 tags). "
        "Idempotent: running it again changes nothing."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--with-admin",
            action="store_true",
            help="Also create a superuser admin/admin (for the Django admin), unless one exists.",
        )

    def handle(self, *args: Any, with_admin: bool, **options: Any) -> None:
        report = seed(with_admin=with_admin)
        if options.get("verbosity", 1) == 0:
            return
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
