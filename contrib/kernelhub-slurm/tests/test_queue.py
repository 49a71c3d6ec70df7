"""Jobs that wait in Slurm's queue: progress says why, cancelling leaves no job, queue_timeout."""

from __future__ import annotations

import pwd

import pytest
from cluster import SlurmCluster
from conftest import block_every_cpu, slurm_sections
from slurm_steps import (
    READY_TIMEOUT,
    first_message,
    progress_messages,
    request_spawn,
    stop,
    wait_gone,
    wait_ready,
)

pytestmark = pytest.mark.slow


def test_a_spawn_waits_queued_then_starts_when_the_blocker_ends(
        make_hub, idle_cluster: SlurmCluster, slurm_user: pwd.struct_passwd):
    blocker = block_every_cpu(idle_cluster)
    hub = make_hub(slurm_sections())
    name = hub.new_user(slurm_user.pw_name)
    request_spawn(hub.api, name)
    queued = first_message(hub.api, name, lambda m: "PENDING (" in m)
    # Slurm says Priority until its scheduler has looked at the job, then Resources.
    assert queued.endswith(("is queued: PENDING (Resources)", "is queued: PENDING (Priority)"))
    idle_cluster.run("scancel", blocker)
    wait_ready(hub.api, name)
    assert idle_cluster.jobs("%U", "%T") == [f"{slurm_user.pw_uid}|RUNNING"]
    stop(hub.api, name)


def test_stopping_a_queued_spawn_cancels_its_job(
        make_hub, idle_cluster: SlurmCluster, slurm_user: pwd.struct_passwd):
    blocker = block_every_cpu(idle_cluster)
    hub = make_hub(slurm_sections())
    name = hub.new_user(slurm_user.pw_name)
    request_spawn(hub.api, name)
    first_message(hub.api, name, lambda m: "PENDING" in m)
    assert hub.api.delete(f"users/{name}/server").status_code in (202, 204)
    wait_gone(hub.api, name)
    assert idle_cluster.jobs() == [blocker]


def test_a_job_queued_longer_than_queue_timeout_is_cancelled_with_slurms_reason(
        make_hub, idle_cluster: SlurmCluster, slurm_user: pwd.struct_passwd):
    idle_cluster.set_partition("DOWN")
    hub = make_hub(slurm_sections(queue_timeout="5"))
    name = hub.new_user(slurm_user.pw_name)
    request_spawn(hub.api, name)
    messages = list(progress_messages(hub.api, name))
    assert any(m.endswith("is queued: PENDING (PartitionDown)") for m in messages)
    assert "waited more than 5 s in the queue (queue_timeout): PENDING (PartitionDown)" \
        in messages[-1]
    wait_gone(hub.api, name, timeout=READY_TIMEOUT)
    assert idle_cluster.jobs() == []
