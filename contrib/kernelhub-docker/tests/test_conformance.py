"""The Spawner contract's conformance suite (kernel.testing.spawner), run on real containers.

The suite drives the spawner without a running hub, so the containers run
kernelhub's stand-in server instead of jupyterhub-singleuser.
"""

from __future__ import annotations

import pytest

from kernel.testing.spawner import SpawnerConformance

pytestmark = pytest.mark.slow


class TestDockerSpawner(SpawnerConformance):
    @pytest.fixture
    def hub_sections(self, mockserver_sections):
        return mockserver_sections
