"""Skip these tests, saying how to install the plugin, when kernelhub-jsonlog is not installed.

They find the plugin through its entry point, so the package must be installed
(`pip install -e contrib/kernelhub-jsonlog`); kernelhub's own `pip install -e
".[test]"` does not install it. In CI (CI=true) a missing package fails instead.
"""

from __future__ import annotations

import os
from importlib.metadata import entry_points

import pytest

INSTALLED = any(ep.name == "jsonlog" for ep in entry_points(group="kernelhub"))
REASON = ("kernelhub-jsonlog is not installed: `pip install -e contrib/kernelhub-jsonlog` "
          "runs its tests")


@pytest.fixture(autouse=True)
def jsonlog_installed() -> None:
    if INSTALLED:
        return
    # kernelhub's suite rule (tests.conftest.skip_or_fail); this package may also run alone.
    try:
        from tests.conftest import skip_or_fail
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{REASON} (CI=true: this dependency must be installed)")
        pytest.skip(REASON)
    skip_or_fail(REASON)
