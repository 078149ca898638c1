"""The test project with django-debug-toolbar on, showing lifecycle's panel (browser tests of the panel).

Our middleware first, the toolbar's next, as the README asks; the toolbar shows to 127.0.0.1 (INTERNAL_IPS)
with DEBUG on, as on a developer's machine. ``LIFECYCLE_TEST_TOOLBAR_CONFIG`` holds JSON merged into
DEBUG_TOOLBAR_CONFIG (say ``{"RENDER_PANELS": true, "USE_SHADOW_DOM": false}``).
"""

from __future__ import annotations

import json
import os

from tests.settings import *  # noqa: F403
from tests.settings import MIDDLEWARE

MIDDLEWARE = [MIDDLEWARE[0], "debug_toolbar.middleware.DebugToolbarMiddleware", *MIDDLEWARE[1:]]
DEBUG_TOOLBAR_PANELS = [
    "debug_toolbar.panels.history.HistoryPanel",
    "debug_toolbar.panels.sql.SQLPanel",
    "debug_toolbar.panels.templates.TemplatesPanel",
    "lifecycle.panels.LifecyclePanel",
]
# The server runs under pytest (PYTEST_VERSION in its environment), not as a test run of its own.
DEBUG_TOOLBAR_CONFIG = {"IS_RUNNING_TESTS": False, **json.loads(os.environ.get("LIFECYCLE_TEST_TOOLBAR_CONFIG", "{}"))}
