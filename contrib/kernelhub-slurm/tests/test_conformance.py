"""The Spawner contract (kernel.testing.spawner) on Slurm, and a start that continues a saved job.

These drive the spawner in this process, as the hub does; the jobs are
submitted as root (``run_as`` empty), because the conformance user has no
Unix account.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from cluster import SlurmCluster
from conftest import slurm_sections

from kernel.testing.hub import hub_app
from kernel.testing.spawner import SpawnerConformance

pytestmark = pytest.mark.slow


def in_process_sections() -> dict[str, dict[str, str]]:
    sections = slurm_sections(run_as="")
    sections["spawner"]["start_timeout"] = "120"
    return sections


class TestSlurmSpawner(SpawnerConformance):
    @pytest.fixture
    def hub_sections(self, idle_cluster: SlurmCluster) -> dict[str, dict[str, str]]:
        return in_process_sections()


def test_a_start_after_load_state_follows_the_saved_job_instead_of_submitting_another(
        tmp_path: Path, idle_cluster: SlurmCluster):
    # What a restarted hub does with a start the previous one saved (save_state) but
    # never finished: the job is still queued behind a job holding every CPU.
    blocker = idle_cluster.run("sbatch", "--parsable", "--cpus-per-task=2",
                               "--output=/dev/null", "--wrap", "sleep 600").strip()
    hub = hub_app(tmp_path / "hub", in_process_sections()).state.hub

    async def scenario() -> tuple[str, str, tuple[str, int]]:
        user = await hub.users.ensure("conformance")
        server = await hub.users.server(user, "")
        first = hub.new_spawner(server)
        first.api_token = "the-first-starts-token"
        starting = asyncio.create_task(first.start())
        while not first.job_id:
            await asyncio.sleep(0.1)
        saved = json.loads(json.dumps(first.get_state()))
        starting.cancel()  # the first hub goes away; its job stays queued
        again = hub.new_spawner(server)  # as the next hub makes it
        again.load_state(saved)
        idle_cluster.run("scancel", blocker)
        try:
            where = await again.start()
        finally:
            await again.stop(now=True)
        return saved["job_id"], again.job_id, where

    try:
        saved_job, followed_job, where = asyncio.run(scenario())
    finally:
        hub.db.close()
    assert followed_job == saved_job
    assert where[0] == "127.0.0.1" and where[1] > 0
    # Slurm still lists ended jobs (MinJobAge): only one was submitted after the blocker.
    listed = idle_cluster.run("squeue", "-h", "--states=all", "-o", "%i").split()
    assert [job for job in listed if int(job) > int(blocker)] == [saved_job]
