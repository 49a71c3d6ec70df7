"""Polling that scales: the hub asks slurmctld once per queue_interval for all of its jobs,
however many servers it polls, as slurmctld's own counters (sdiag) show."""

from __future__ import annotations

import pwd
import time
from collections.abc import Callable

import pytest
from cluster import SlurmCluster
from conftest import slurm_sections
from slurm_steps import request_spawn, stop, wait_ready

pytestmark = pytest.mark.slow

QUEUE_INTERVAL = 2
WATCHED_SECONDS = 12


def test_one_squeue_per_round_lists_every_job_of_the_hub(
        make_hub, idle_cluster: SlurmCluster, unix_user: Callable[[], pwd.struct_passwd]):
    sections = slurm_sections(interval=str(QUEUE_INTERVAL))
    sections["spawner"]["poll_interval"] = "1"  # each server is polled every second
    hub = make_hub(sections)
    names = [hub.new_user(unix_user().pw_name) for _ in range(2)]  # a job per CPU
    for name in names:
        request_spawn(hub.api, name)
    for name in names:
        wait_ready(hub.api, name)

    before = idle_cluster.sdiag_count("REQUEST_JOB_INFO")
    time.sleep(WATCHED_SECONDS)
    requests = idle_cluster.sdiag_count("REQUEST_JOB_INFO") - before

    rounds = WATCHED_SECONDS / QUEUE_INTERVAL
    # One squeue per server per poll would be 2 x 12 = 24 requests; one per round is 6
    # (a round in flight at either end may add one).
    assert 1 <= requests <= rounds + 2
    for name in names:
        stop(hub.api, name)
