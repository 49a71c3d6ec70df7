"""A user's server as a Slurm job: submitted as the user, routed, polled, cancelled on stop."""

from __future__ import annotations

import os
import pwd

import httpx
import pytest
from cluster import SlurmCluster
from conftest import slurm_sections
from slurm_steps import READY_TIMEOUT, request_spawn, stop, wait_ready

pytestmark = pytest.mark.slow


def test_a_spawn_runs_a_job_as_the_user_and_stop_cancels_it(
        make_hub, idle_cluster: SlurmCluster, slurm_user: pwd.struct_passwd):
    hub = make_hub(slurm_sections())
    name = hub.new_user(slurm_user.pw_name)
    request_spawn(hub.api, name)
    wait_ready(hub.api, name)
    assert idle_cluster.jobs("%U", "%T") == [f"{slurm_user.pw_uid}|RUNNING"]
    served = httpx.get(f"{hub.url}user/{name}/env", timeout=30).json()
    assert served["uid"] == str(slurm_user.pw_uid)
    assert served["SLURM_JOB_ID"] == idle_cluster.jobs("%i")[0]
    stop(hub.api, name)
    assert idle_cluster.jobs() == []


def test_the_hubs_environment_never_reaches_the_job(
        make_hub, idle_cluster: SlurmCluster, slurm_user: pwd.struct_passwd,
        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KERNELHUB_HUB_ONLY_SECRET", "must-not-leak")
    hub = make_hub(slurm_sections())
    name = hub.new_user(slurm_user.pw_name)
    request_spawn(hub.api, name)
    wait_ready(hub.api, name)
    served = httpx.get(f"{hub.url}user/{name}/env", timeout=30).json()
    assert "KERNELHUB_HUB_ONLY_SECRET" in os.environ
    assert "KERNELHUB_HUB_ONLY_SECRET" not in served
    assert served["HOME"] == slurm_user.pw_dir
    assert served["JUPYTERHUB_USER"] == name
    stop(hub.api, name)


def test_a_bad_batch_script_reaches_the_user_with_sbatchs_message(
        make_hub, idle_cluster: SlurmCluster, slurm_user: pwd.struct_passwd):
    hub = make_hub(slurm_sections(extra="--no-such-sbatch-option"))
    name = hub.new_user(slurm_user.pw_name)
    response = hub.api.post(f"users/{name}/server", timeout=READY_TIMEOUT)
    assert response.status_code == 500
    assert response.json()["message"].startswith(
        "Spawn failed: sbatch failed: sbatch: unrecognized option '--no-such-sbatch-option'")
    assert idle_cluster.jobs() == []


def test_a_job_that_fails_before_its_server_starts_reaches_the_user_with_slurms_reason(
        make_hub, idle_cluster: SlurmCluster, slurm_user: pwd.struct_passwd):
    hub = make_hub(slurm_sections(prologue="exit 3"))
    name = hub.new_user(slurm_user.pw_name)
    response = hub.api.post(f"users/{name}/server", timeout=READY_TIMEOUT)
    assert response.status_code == 500
    message = response.json()["message"]
    assert "ended before its server started: FAILED (NonZeroExitCode)" in message
    assert f"/home/{name}/kernelhub-slurm-" in message  # where its log is
    assert idle_cluster.jobs() == []
