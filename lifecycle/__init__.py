"""django-request-lifecycle: see inside every Django request, live."""

from __future__ import annotations

__version__ = "0.1.0"
