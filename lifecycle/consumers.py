"""Former path of :mod:`lifecycle.live.consumer` (``lifecycle.consumers.DashboardConsumer``): the same
module object."""

import sys

from lifecycle.live import consumer

sys.modules[__name__] = consumer
