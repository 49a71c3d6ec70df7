"""The Spawner contract's conformance suite (kernel.testing.spawner), run on real containers.

The suite drives the spawner without a running hub, which jupyterhub-singleuser
needs; the containers run kernelhub's stand-in server instead
(kernel/testing/mockserver.py, standard library only), mounted read-only and
run with the image's python3.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.testing import mockserver
from kernel.testing.spawner import SpawnerConformance

pytestmark = pytest.mark.slow

MOCKSERVER = Path(mockserver.__file__)


class TestDockerSpawner(SpawnerConformance):
    @pytest.fixture
    def hub_sections(self, docker_sections):
        return {**docker_sections,
                "spawner": {**docker_sections["spawner"],
                            "cmd": f"/usr/bin/python3 /opt/mockserver/{MOCKSERVER.name}"},
                "docker.volumes": {str(MOCKSERVER.parent): "/opt/mockserver:ro"}}
