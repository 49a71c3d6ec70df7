"""A private Docker engine (dockerd in a scratch folder), the local single-user image, and
a hub that runs its servers there: real containers running the real jupyterhub-singleuser.

The engine and the image are made once per test session; every test's users
have names of their own, so their containers and volumes never meet.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
from kernelhub_docker.local_image import import_image
from kernelhub_docker.private_engine import EngineUnavailable, private_engine

from kernel.testing import mockserver
from kernel.testing.infra import SINGLEUSER_VENV, singleuser_venv_file, skip_or_fail

#: The second image of the options form's tests: the local one with a file of its own,
#: built as the README shows (`docker build --network host`).
FLAVOURED_DOCKERFILE = """\
FROM {base}
RUN echo flavoured > /etc/kernelhub-flavour
"""


@pytest.fixture(scope="session")
def docker_host() -> Iterator[str]:
    """The address of a Docker engine of the test session's own."""
    try:
        with private_engine() as engine:
            yield engine.address
    except EngineUnavailable as e:
        skip_or_fail(f"no Docker engine for kernelhub-docker's tests: {e}")


@pytest.fixture(scope="session")
def engine(docker_host: str) -> Iterator[docker.DockerClient]:
    """The Docker SDK's client of that engine, for the tests to look at containers."""
    client = docker.DockerClient(base_url=docker_host, version="auto")
    yield client
    client.close()


@pytest.fixture(scope="session")
def local_image(engine: docker.DockerClient) -> str:
    """The single-user image built with debootstrap (cached under /var/tmp), imported."""
    try:
        return import_image(engine)
    except RuntimeError as e:
        skip_or_fail(str(e))
        raise


@pytest.fixture(scope="session")
def flavoured_image(engine: docker.DockerClient, local_image: str, tmp_path_factory
                    ) -> str:
    """A second image, ``FROM`` the local one, with /etc/kernelhub-flavour in it."""
    folder = tmp_path_factory.mktemp("flavoured")
    (folder / "Dockerfile").write_text(FLAVOURED_DOCKERFILE.format(base=local_image))
    tag = "kernelhub-test-flavoured:1"
    engine.images.build(path=str(folder), tag=tag, network_mode="host", rm=True)
    return tag


@pytest.fixture
def new_username() -> Callable[[str], str]:
    """A user name no other test uses (so is their container's and volume's name)."""
    return lambda base: f"{base}-{secrets.token_hex(3)}"


@pytest.fixture
def docker_sections(docker_host: str, local_image: str) -> dict[str, dict[str, str]]:
    """hub.ini sections for a hub whose servers are containers of the local image that
    run jupyterhub-singleuser from the host's venv, mounted read-only."""
    singleuser = singleuser_venv_file("jupyterhub-singleuser")
    return {
        "hub": {"spawner_class": "docker"},
        "spawner": {"cmd": str(singleuser), "start_timeout": "120", "http_timeout": "120"},
        "docker": {"host": docker_host, "image": local_image},
        "docker.volumes": {"jupyterhub-user-{username}": "/home/jovyan",
                           str(SINGLEUSER_VENV): f"{SINGLEUSER_VENV}:ro"},
    }


@pytest.fixture
def mockserver_sections(docker_sections: dict[str, dict[str, str]]
                        ) -> dict[str, dict[str, str]]:
    """The same, with containers that run kernelhub's stand-in server (standard library only,
    mounted read-only, run with the image's python3): for driving the spawner without a
    running hub, which jupyterhub-singleuser needs."""
    script = Path(mockserver.__file__)
    return {**docker_sections,
            "spawner": {**docker_sections["spawner"],
                        "cmd": f"/usr/bin/python3 /opt/mockserver/{script.name}"},
            "docker.volumes": {str(script.parent): "/opt/mockserver:ro"}}
