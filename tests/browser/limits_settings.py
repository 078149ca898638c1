"""The demo site's settings with the dashboard's limits lowered (browser tests of hostile files).

``LIFECYCLE_TEST_LIMITS`` holds JSON such as ``{"DASHBOARD_MAX_TRACE_BYTES": 2000}``, merged into
``LIFECYCLE``: the dashboard page's config then carries those limits, as a site's settings would.
"""

from __future__ import annotations

import json
import os

from demo_site.settings import *  # noqa: F403
from demo_site.settings import LIFECYCLE

LIFECYCLE = {**LIFECYCLE, **json.loads(os.environ.get("LIFECYCLE_TEST_LIMITS", "{}"))}
