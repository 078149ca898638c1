"""The pytest plugin's former path (``-p lifecycle.pytest_plugin``): the same module object as
``lifecycle.replay.pytest_plugin``, so that pytest never registers its hooks twice."""

import sys

from lifecycle.replay import pytest_plugin

sys.modules[__name__] = pytest_plugin
