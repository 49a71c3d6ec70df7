"""One running hub per test module, and clients for its REST API."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from kernel.testing.hub import HubProcess, running_hub
from tests.api.helpers import HUB_SECTIONS, api_client


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """A hub shared by the tests of a module; each test makes users with names of its own."""
    with running_hub(tmp_path_factory.mktemp("hub"), HUB_SECTIONS) as hub:
        yield hub


@pytest.fixture(scope="module")
def api(hub: HubProcess) -> Iterator[httpx.Client]:
    """The admin's client for /hub/api/."""
    with api_client(hub) as client:
        yield client


@pytest.fixture(scope="module")
def anonymous(hub: HubProcess) -> Iterator[httpx.Client]:
    with api_client(hub, token=None) as client:
        yield client
