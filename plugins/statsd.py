"""The `statsd` plugin: send JupyterHub's statsd metrics to a statsd daemon.

Not built yet: it declares the statsd options so that hub.ini files written
from a JupyterHub config are understood.
"""

from __future__ import annotations

from kernel import hookimpl
from kernel.config import OptionRegistry
from kernel.config.types import Integer, Text

NOT_YET = "statsd metrics are not available in this version of kernelhub yet"


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.add("hub", "statsd_host", Text(), "",
                "The statsd daemon's host; empty: send nothing.", unavailable=NOT_YET)
    options.add("hub", "statsd_port", Integer(minimum=1), 8125,
                "The statsd daemon's UDP port.", unavailable=NOT_YET)
    options.add("hub", "statsd_prefix", Text(), "jupyterhub",
                "The prefix of every metric name.", unavailable=NOT_YET)
