"""Limits are Docker's, enforced by the kernel's cgroups: a kernel that outgrows its server's
memory is killed, and the hub and the other users carry on."""

from __future__ import annotations

import time

import httpx
import pytest
from docker_steps import container_of, run_in, run_until_the_kernel_dies, spawn

from kernel.testing.kernels import execute, start_kernel

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
#: What the container's cgroup says of its memory limit (cgroup v2, then v1).
CGROUP_MEMORY_LIMIT = ("cat /sys/fs/cgroup/memory.max 2>/dev/null "
                       "|| cat /sys/fs/cgroup/memory/memory.limit_in_bytes")
#: Its CPU quota and period, in microseconds.
CGROUP_CPU_QUOTA = ("cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo "
                    "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) "
                    "$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)")


def test_limits_guarantees_and_extra_host_config_become_the_containers(
        make_hub, docker_sections, engine, new_username):
    hub = make_hub({**docker_sections,
                    "spawner": {**docker_sections["spawner"], "mem_limit": "256M",
                                "mem_guarantee": "128M", "cpu_limit": "1.5",
                                "cpu_guarantee": "0.5"},
                    "docker.extra_host_config": {"shm_size": '"96m"',
                                                 "tmpfs": '{"/scratch": "size=8m"}'}})
    user = hub.new_user(new_username("carol"))
    spawn(hub.api_as(hub.new_token(user)), user)

    container = container_of(engine, user)
    host_config = container.attrs["HostConfig"]
    assert host_config["Memory"] == 256 * MIB
    assert host_config["MemoryReservation"] == 128 * MIB
    assert host_config["NanoCpus"] == 1_500_000_000
    assert host_config["CpuShares"] == 512
    # What the kernel enforces: a CPU quota of 1.5 periods per period.
    quota = run_in(container, CGROUP_CPU_QUOTA).split()
    assert int(quota[0]) == int(quota[1]) * 3 // 2
    assert run_in(container, "df -k /dev/shm | tail -1").split()[1] == str(96 * 1024)
    assert run_in(container, "df -k /scratch | tail -1").split()[1] == str(8 * 1024)


def test_a_kernel_allocating_beyond_mem_limit_is_killed_and_everyone_carries_on(
        make_hub, docker_sections, engine, new_username):
    hub = make_hub({**docker_sections,
                    "spawner": {**docker_sections["spawner"], "mem_limit": "256M"}})
    greedy, other = hub.new_user(new_username("greedy")), hub.new_user(new_username("other"))
    tokens = {user: hub.new_token(user) for user in (greedy, other)}
    for user, token in tokens.items():
        spawn(hub.api_as(token), user)
    container = container_of(engine, greedy)
    assert run_in(container, CGROUP_MEMORY_LIMIT) == str(256 * MIB)

    server_url = f"{hub.url}user/{greedy}/"
    kernel = start_kernel(server_url, tokens[greedy])
    since = int(time.time()) - 1
    assert run_until_the_kernel_dies(server_url, tokens[greedy], kernel,
                                     "b'x' * (1024 ** 3)") == "restarting"

    ooms = engine.events(since=since, until=int(time.time()) + 1, decode=True,
                         filters={"container": container.id, "event": "oom"})
    assert list(ooms), "the engine reported no OOM kill in the container"
    # The server outlived its kernel; the hub and the other user's server answer.
    for user, token in tokens.items():
        status = httpx.get(f"{hub.url}user/{user}/api/status",
                           headers={"Authorization": f"token {token}"}, timeout=30)
        assert status.status_code == 200, status.text
    assert httpx.get(f"{hub.url}hub/health", timeout=30).status_code == 200
    assert execute(server_url, tokens[greedy], start_kernel(server_url, tokens[greedy]),
                   "1+1") == "2"
