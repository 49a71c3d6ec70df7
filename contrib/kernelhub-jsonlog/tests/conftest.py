"""Skip these tests, saying how to install the plugin, when kernelhub-jsonlog is not installed.

They find the plugin through its entry point, so the package must be installed
(`pip install -e contrib/kernelhub-jsonlog`); kernelhub's own `pip install -e
".[test]"` does not install it. In CI (CI=true) a missing package fails instead
(`kernel.testing.infra.skip_or_fail`).
"""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from kernel.testing.infra import skip_or_fail

INSTALLED = any(ep.name == "jsonlog" for ep in entry_points(group="kernelhub"))
REASON = ("kernelhub-jsonlog is not installed: `pip install -e contrib/kernelhub-jsonlog` "
          "runs its tests")


@pytest.fixture(autouse=True)
def jsonlog_installed() -> None:
    if INSTALLED:
        return
    skip_or_fail(REASON)
