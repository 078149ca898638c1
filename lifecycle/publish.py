"""Former path of :mod:`lifecycle.live.publisher`: the same module object."""

import sys

from lifecycle.live import publisher

sys.modules[__name__] = publisher
