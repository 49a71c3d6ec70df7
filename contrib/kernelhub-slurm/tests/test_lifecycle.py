"""A job's life beyond one spawn: cancelled from outside, and a hub that restarts.

The hub lists its jobs every ``queue_interval`` (1 s here) and is told at once
when one ended, so a job cancelled by an admin is noticed long before the
server's own ``poll_interval`` (60 s here). A hub restarted with
``cleanup_servers = false`` finds its jobs again: running ones keep their
route, queued ones are followed until they run (not submitted again).
"""

from __future__ import annotations

import pwd
import signal
from pathlib import Path

import httpx
import pytest
from cluster import SlurmCluster
from conftest import block_every_cpu, slurm_sections
from slurm_steps import first_message, request_spawn, stop, wait_gone, wait_ready

from kernel.testing.hub import free_port, running_hub
from kernel.testing.pytest_plugin import ADMIN_TOKEN

pytestmark = pytest.mark.slow

POLL_INTERVAL = 60


def test_a_job_cancelled_from_outside_is_noticed_within_one_poll_interval(
        make_hub, idle_cluster: SlurmCluster, slurm_user: pwd.struct_passwd):
    sections = slurm_sections()
    sections["spawner"]["poll_interval"] = str(POLL_INTERVAL)
    hub = make_hub(sections)
    name = hub.new_user(slurm_user.pw_name)
    request_spawn(hub.api, name)
    wait_ready(hub.api, name)
    [job] = idle_cluster.jobs()
    idle_cluster.run("scancel", job)
    # Well within one poll_interval: the shared listing told the hub at once.
    wait_gone(hub.api, name, timeout=POLL_INTERVAL - 10)
    assert f"/user/{name}/" not in hub.api.get("proxy").json()
    assert f"Job {job} of {name} ended: CANCELLED" in hub.log or \
        f"Job {job} of {name} ended: COMPLETING" in hub.log


def restartable_sections() -> dict[str, dict[str, str]]:
    """Sections for a hub that restarts on the same ports and keeps its servers."""
    sections = slurm_sections()
    sections["hub"].update(cleanup_servers="false", hub_port=str(free_port()))
    sections.update({"proxy": {"api_url": f"http://127.0.0.1:{free_port()}"},
                     "hub.api_tokens": {ADMIN_TOKEN: "admin"}, "auth": {"admin_users": "admin"}})
    return sections


def admin_api(url: str) -> httpx.Client:
    return httpx.Client(base_url=f"{url}hub/api/", timeout=30,
                        headers={"Authorization": f"token {ADMIN_TOKEN}"})


def test_a_restarted_hub_keeps_the_running_job_and_its_route(
        tmp_path: Path, idle_cluster: SlurmCluster, slurm_user: pwd.struct_passwd):
    sections, public_port, name = restartable_sections(), free_port(), slurm_user.pw_name
    with running_hub(tmp_path / "hub", sections, public_port=public_port) as hub:
        api = admin_api(hub.url)
        assert api.post(f"users/{name}").status_code == 201
        request_spawn(api, name)
        wait_ready(api, name)
        [job] = idle_cluster.jobs()

    assert idle_cluster.jobs("%i", "%T") == [f"{job}|RUNNING"]
    with running_hub(tmp_path / "hub", sections, public_port=public_port) as hub:
        api = admin_api(hub.url)
        wait_ready(api, name)
        assert f"/user/{name}/" in api.get("proxy").json()
        served = httpx.get(f"{hub.url}user/{name}/env", timeout=30).json()
        assert served["SLURM_JOB_ID"] == job
        stop(api, name)
    assert idle_cluster.jobs() == []


def test_a_hub_that_stops_while_the_job_is_queued_follows_the_same_job_after_restart(
        tmp_path: Path, idle_cluster: SlurmCluster, slurm_user: pwd.struct_passwd):
    sections, public_port, name = restartable_sections(), free_port(), slurm_user.pw_name
    blocker = block_every_cpu(idle_cluster)
    with running_hub(tmp_path / "hub", sections, public_port=public_port) as hub:
        api = admin_api(hub.url)
        assert api.post(f"users/{name}").status_code == 201
        request_spawn(api, name)
        first_message(api, name, lambda m: "PENDING" in m)
        [job] = [j for j in idle_cluster.jobs() if j != blocker]
        hub.stop(signal.SIGKILL)  # not even a shutdown: only the saved state remains
        idle_cluster.run("scancel", blocker)
        hub.start(timeout=60)
        wait_ready(api, name)
        assert idle_cluster.jobs("%i", "%U") == [f"{job}|{slurm_user.pw_uid}"]
        stop(api, name)
    assert idle_cluster.jobs() == []
