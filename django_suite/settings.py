"""Django's own test settings (``tests/test_sqlite.py`` of the sdist) with lifecycle's runner."""

from test_sqlite import *  # noqa: F403

TEST_RUNNER = "lifecycle_suite.Runner"
