"""The `prometheus` plugin: JupyterHub's metrics at /hub/metrics.

Not built yet: it declares ``authenticate_prometheus`` so that hub.ini files
written from a JupyterHub config are understood.
"""

from __future__ import annotations

from kernel import hookimpl
from kernel.config import OptionRegistry
from kernel.config.types import Boolean


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.add("hub", "authenticate_prometheus", Boolean(), True,
                "Require a token with the read:metrics scope to read /hub/metrics.",
                unavailable="/hub/metrics is not available in this version of kernelhub yet")
