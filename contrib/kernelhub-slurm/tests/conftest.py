"""Fixtures for kernelhub-slurm's tests: a real one-node Slurm cluster, hubs that use it.

Every test here drives real Slurm daemons, real Unix accounts and real
servers, so each module is marked slow (``pytestmark``). Without the plugin installed, root, or
Slurm, the tests skip saying what is missing (and fail under CI=true).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from kernel.testing import mockserver
from kernel.testing.infra import singleuser_venv_file, skip_or_fail

sys.path.insert(0, str(Path(__file__).parent))

from cluster import SlurmCluster, slurm_cluster

INSTALLED = any(ep.name == "slurm" for ep in entry_points(group="kernelhub"))


@pytest.fixture(autouse=True)
def slurm_installed() -> None:
    if not INSTALLED:
        skip_or_fail("kernelhub-slurm is not installed: `pip install -e contrib/kernelhub-slurm` "
                     "runs its tests")


@pytest.fixture(scope="session")
def cluster() -> Iterator[SlurmCluster]:
    """One cluster for the session; hubs started by the tests find it through SLURM_CONF.

    Its folder is outside pytest's (which only root may enter): the users' sbatch
    and scontrol read its slurm.conf.
    """
    directory = Path(tempfile.mkdtemp(prefix="kernelhub-slurm-"))
    directory.chmod(0o755)
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, directory, ignore_errors=True)
        running = cleanup.enter_context(slurm_cluster(directory))
        previous = os.environ.get("SLURM_CONF")
        os.environ["SLURM_CONF"] = str(running.conf)
        try:
            yield running
        finally:
            if previous is None:
                os.environ.pop("SLURM_CONF", None)
            else:
                os.environ["SLURM_CONF"] = previous


@pytest.fixture
def idle_cluster(cluster: SlurmCluster) -> Iterator[SlurmCluster]:
    """The cluster with no job and its partition up, before and after the test."""
    cluster.cancel_all()
    cluster.set_partition("UP")
    yield cluster
    cluster.cancel_all()
    cluster.set_partition("UP")


@pytest.fixture
def slurm_user(unix_user: Callable[[], pwd.struct_passwd]) -> pwd.struct_passwd:
    """A real Unix account whose jobs the tests submit."""
    return unix_user()


def block_every_cpu(cluster: SlurmCluster) -> str:
    """A long job of root's holding both CPUs of the only node; its id."""
    return cluster.run("sbatch", "--parsable", "--cpus-per-task=2", "--output=/dev/null",
                       "--wrap", "sleep 600").strip()


def slurm_sections(*, interval: str = "1", **slurm: str) -> dict[str, dict[str, str]]:
    """hub.ini sections choosing the slurm spawner with the stand-in server (quick to start).

    The server runs as the test's user, who cannot read the hub's interpreter
    (under root's home): it runs with the single-user venv's Python, from its file
    (it needs only the standard library).
    """
    python = singleuser_venv_file("python")
    return {
        "hub": {"spawner_class": "slurm"},
        "spawner": {"cmd": f"{python} {mockserver.__file__}",
                    "start_timeout": "120", "http_timeout": "60"},
        "slurm": {"queue_interval": interval, "offer_partitions": "false", **slurm},
    }
