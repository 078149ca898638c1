"""Whether a request is recorded: the ``ENABLED`` switch, then the site's own decision.

The middleware asks :func:`should_record` once per request, after its own cheap checks (a trace already
open, an ignored path).
"""

from __future__ import annotations

from lifecycle import conf


def should_record(request) -> bool:
    return bool(conf.get("ENABLED"))
