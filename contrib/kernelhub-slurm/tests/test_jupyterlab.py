"""The real jupyterhub-singleuser as a Slurm job: JupyterLab answers through the proxy."""

from __future__ import annotations

import pwd

import httpx
import pytest
from cluster import SlurmCluster
from conftest import slurm_sections
from slurm_steps import request_spawn, stop, wait_ready

from kernel.testing.infra import singleuser_venv_file
from kernel.testing.kernels import execute, start_kernel

pytestmark = pytest.mark.slow


def test_jupyterlab_in_a_job_answers_through_the_proxy_and_runs_a_kernel(
        make_hub, idle_cluster: SlurmCluster, slurm_user: pwd.struct_passwd):
    sections = slurm_sections()
    sections["spawner"]["cmd"] = str(singleuser_venv_file("jupyterhub-singleuser"))
    hub = make_hub(sections)
    name = hub.new_user(slurm_user.pw_name)
    request_spawn(hub.api, name)
    wait_ready(hub.api, name)
    assert idle_cluster.jobs("%U", "%T") == [f"{slurm_user.pw_uid}|RUNNING"]

    token = hub.new_token(name)
    server = f"{hub.url}user/{name}/"
    headers = {"Authorization": f"token {token}"}
    settings = httpx.get(f"{server}lab/api/settings/", headers=headers, timeout=60)
    assert settings.status_code == 200, settings.text
    assert "settings" in settings.json()
    kernel = start_kernel(server, token)
    assert execute(server, token, kernel, "1+1") == "2"

    stop(hub.api, name)
    assert idle_cluster.jobs() == []
