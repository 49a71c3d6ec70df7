"""A user's server as a Slurm job: submitted as the user, routed, polled, cancelled on stop."""

from __future__ import annotations

import pwd

import httpx
import pytest
from cluster import SlurmCluster
from conftest import slurm_sections

from kernel.testing.hub import wait_until

pytestmark = pytest.mark.slow


def test_a_spawn_runs_a_job_as_the_user_and_stop_cancels_it(
        make_hub, idle_cluster: SlurmCluster, slurm_user: pwd.struct_passwd):
    hub = make_hub(slurm_sections())
    name = hub.new_user(slurm_user.pw_name)
    assert hub.api.post(f"users/{name}/server").status_code in (201, 202)
    wait_until(lambda: hub.api.get(f"users/{name}").json()["servers"][""]["ready"],
               timeout=120, what="the server to be ready", log=hub.process.directory / "hub.log")
    assert idle_cluster.jobs("%u", "%T") == [f"{name}|RUNNING"]
    served = httpx.get(f"{hub.url}user/{name}/env", timeout=30).json()
    assert served["uid"] == str(slurm_user.pw_uid)
    assert served["SLURM_JOB_ID"]
    assert hub.api.delete(f"users/{name}/server").status_code in (202, 204)
    wait_until(lambda: not hub.api.get(f"users/{name}").json()["servers"], timeout=120,
               what="the server to stop")
    assert idle_cluster.jobs() == []
