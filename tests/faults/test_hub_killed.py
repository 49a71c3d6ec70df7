"""The hub is killed (SIGKILL) in the middle of spawns and stops, then started again: every
server ends in a clear state (adopted and running, or cleaned up), with no orphan process,
no route to a dead server, no user stuck pending and no duplicate server.

Real processes throughout: ``kernel serve``, kernel-proxy (which outlives the hub, as
it does in production) and the stand-in single-user servers, slowed down to start or
to stop so that the hub dies in the middle.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kernel.testing.hub import HubProcess, merge, running_hub, wait_until
from tests.api.helpers import HUB_SECTIONS, api_client

USERS = ["ann", "ben", "cat"]


@pytest.fixture
def run(tmp_path: Path) -> Iterator[str]:
    """A mark in the environment of this test's servers; none of them outlives the test."""
    mark = str(tmp_path)
    yield mark
    for pid in _servers(mark):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def sections(run: str, **extra: dict[str, str]) -> dict[str, dict[str, str]]:
    """Servers outlive their hub; each is told which test it belongs to."""
    return merge(merge(HUB_SECTIONS, {"hub": {"cleanup_servers": "false"},
                                      "spawner": {"poll_interval": "1"},
                                      "spawner.environment": {"FAULT_RUN": run}}), extra)


def _servers(run: str, user: str | None = None) -> list[int]:
    """The pids of this test's stand-in servers (of ``user``) on this machine."""
    found = subprocess.run(["pgrep", "-f", "kernel.testing.mockserver"], capture_output=True,
                           text=True).stdout.split()
    wanted = [f"FAULT_RUN={run}".encode()]
    if user is not None:
        wanted.append(f"JUPYTERHUB_USER={user}".encode())
    return [int(pid) for pid in found
            if all(b"\0" + item + b"\0" in b"\0" + _environ(int(pid)) for item in wanted)]


def _environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""


def _server_model(api: httpx.Client, user: str) -> dict[str, object] | None:
    """The user's default server as GET /users/{name} lists it; None when it is stopped."""
    return api.get(f"users/{user}").json()["servers"].get("")


def _start_all(api: httpx.Client) -> None:
    """Ask for each user's server without waiting for it (the REST API would wait 10 s)."""
    assert api.post("users", json={"usernames": USERS}).status_code == 201
    for user in USERS:
        with contextlib.suppress(httpx.ReadTimeout):
            api.post(f"users/{user}/server", timeout=0.2)


def _kill_and_restart(hub: HubProcess, signum: int = signal.SIGKILL) -> None:
    hub.stop(signum)
    hub.start()


def _assert_each_server_clear(hub: HubProcess, run: str) -> dict[str, bool]:
    """Once nothing is pending: each server is running once, routed and answering, or gone
    with its route; which, per user."""
    with api_client(hub) as api:
        wait_until(lambda: all((_server_model(api, u) or {}).get("pending") is None
                               for u in USERS),
                   timeout=30, what="no server pending after the restart",
                   log=hub.directory / "hub.log")
        models = {u: _server_model(api, u) for u in USERS}
        routes = api.get("proxy").json()
    outcome = {}
    for user in USERS:
        processes = _servers(run, user)
        model = models[user]
        if model is not None and model["ready"]:
            assert len(processes) == 1, (user, processes)
            assert f"/user/{user}/" in routes
            assert httpx.get(f"{hub.url}user/{user}/api", timeout=10).status_code == 200
        else:
            assert model is None, (user, model)
            assert processes == [], (user, processes)
            assert f"/user/{user}/" not in routes
        outcome[user] = model is not None
    return outcome


def test_servers_starting_when_the_hub_is_killed_are_adopted_once(tmp_path, run):
    slow = sections(run, **{"spawner.environment": {"MOCKSERVER_START_DELAY": "3"}})
    with running_hub(tmp_path / "hub", slow) as hub:
        with api_client(hub) as api:
            _start_all(api)
            # Each server's process has started, none answers yet.
            wait_until(lambda: all(_servers(run, u) for u in USERS), what="servers launched")
            assert not any(_server_model(api, u)["ready"] for u in USERS)
        _kill_and_restart(hub)
        adopted = _assert_each_server_clear(hub, run)
    # The spawner had returned for each (their processes run): all are taken over.
    assert all(adopted.values()), adopted


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "shut-down"])
def test_a_start_waiting_in_a_queue_is_continued_by_the_next_hub(tmp_path, run, signum):
    # The queued-spawner saves its state while its start goes on waiting (save_state).
    # Shut down without cleanup_servers, the hub leaves such a start to the next one too
    # (once the 5 s it gives requests in flight have passed).
    queued = sections(run, hub={"spawner_class": "queued-spawner"},
                      **{"spawner.environment": {"QUEUE_SECONDS": "8"}})
    with running_hub(tmp_path / "hub", queued,
                     plugins={"queued-spawner": "tests.fake_plugins.queued_spawner"}) as hub:
        with api_client(hub) as api:
            _start_all(api)
            wait_until(lambda: all(_servers(run, u) for u in USERS), what="servers launched")
            assert all(_server_model(api, u)["pending"] == "spawn" for u in USERS)
        _kill_and_restart(hub, signum)
        adopted = _assert_each_server_clear(hub, run)
    assert all(adopted.values()), adopted
    assert "continuing its start" in hub.log


def test_servers_stopping_when_the_hub_is_killed_end_stopped_or_running(tmp_path, run):
    slow = sections(run, **{"spawner.environment": {"MOCKSERVER_STOP_DELAY": "3"}})
    with running_hub(tmp_path / "hub", slow) as hub:
        with api_client(hub) as api:
            _start_all(api)
            wait_until(lambda: all(_server_model(api, u)["ready"] for u in USERS),
                       what="servers ready")
            for user in USERS:
                with contextlib.suppress(httpx.ReadTimeout):
                    api.delete(f"users/{user}/server", timeout=0.2)
            assert all(_server_model(api, u)["pending"] == "stop" for u in USERS)
        _kill_and_restart(hub)
        _assert_each_server_clear(hub, run)
        # A server adopted while its process was still going down is noticed when it
        # exits: in the end every one of them is stopped, with nothing left behind.
        with api_client(hub) as api:
            wait_until(lambda: all(_server_model(api, u) is None for u in USERS),
                       timeout=30, what="every server stopped")
        _assert_each_server_clear(hub, run)
