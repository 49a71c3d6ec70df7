"""The two hubs the compatibility test compares, and the programs they need."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel.testing.infra import singleuser_venv_file, skip_or_fail
from tests.compat.stack import Hub, both_hubs
from tests.e2e.conftest import jupyterhub  # noqa: F401 - the real JupyterHub 6.1.1

CHP = Path(os.environ.get("KERNELHUB_CHP", "configurable-http-proxy"))


@pytest.fixture(scope="module")
def hubs(tmp_path_factory: pytest.TempPathFactory, jupyterhub: Path  # noqa: F811
         ) -> Iterator[tuple[Hub, Hub, str]]:
    """JupyterHub 6.1.1 behind configurable-http-proxy and kernelhub behind kernel-proxy,
    from tests/compat/jupyterhub_config.py; with what import-config did not translate."""
    if not CHP.is_file():
        skip_or_fail(f"no configurable-http-proxy at {CHP} (set KERNELHUB_CHP)")
    try:
        import jupyterhub_idle_culler  # noqa: F401
    except ImportError:
        skip_or_fail("jupyterhub-idle-culler is not installed")
    singleuser = singleuser_venv_file("jupyterhub-singleuser")
    with both_hubs(tmp_path_factory.mktemp("compat"), jupyterhub, CHP, singleuser) as pair:
        yield pair
