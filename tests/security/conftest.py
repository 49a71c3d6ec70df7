"""One running hub per test module, and the admin's API client for it.

A module that needs its own hub.ini sets ``HUB_SECTIONS`` (the API tests' sections
otherwise: an admin with a known token, named servers, admin_access).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from kernel.testing.hub import HubProcess, running_hub
from tests.api import helpers


@pytest.fixture(scope="module")
def hub(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    sections = getattr(request.module, "HUB_SECTIONS", helpers.HUB_SECTIONS)
    with running_hub(tmp_path_factory.mktemp("hub"), sections) as hub:
        yield hub


@pytest.fixture(scope="module")
def api(hub: HubProcess) -> Iterator[httpx.Client]:
    """The admin's client for /hub/api/."""
    with helpers.api_client(hub) as client:
        yield client
