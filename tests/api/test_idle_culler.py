"""The real jupyterhub-idle-culler (from PyPI), run as its own process with a token of
exactly the scopes its README asks for, culls a test user's idle server.

tests/services/test_idle_culler_service.py runs it as a managed service instead."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from kernel.testing.hub import HubProcess, running_hub
from tests.api.helpers import HUB_SECTIONS, api_client, new_user, start_server, wait_until
from tests.conftest import skip_or_fail

CULLER_TOKEN = "culler-token-1234567890"
#: What the idle culler's README asks for (without --cull-users).
CULLER_SCOPES = "list:users, read:users:activity, read:servers, delete:servers"
IDLE_SECONDS = 2


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    sections = {**HUB_SECTIONS,
                # Activity to the second: busy's server reports every half second, and
                # the culler's timeout is 2 s (JupyterHub's 30 s resolution would hide it).
                "hub": {**HUB_SECTIONS["hub"], "activity_resolution": "0"},
                "role:culler": {"scopes": CULLER_SCOPES, "users": "culler"},
                "hub.api_tokens": {**HUB_SECTIONS["hub.api_tokens"], CULLER_TOKEN: "culler"}}
    with running_hub(tmp_path_factory.mktemp("hub"), sections) as hub:
        yield hub


@pytest.fixture
def culler(hub: HubProcess) -> Iterator[subprocess.Popen[bytes]]:
    try:
        import jupyterhub_idle_culler  # noqa: F401
    except ImportError:
        skip_or_fail("jupyterhub-idle-culler is not installed")
    env = {**os.environ, "JUPYTERHUB_API_TOKEN": CULLER_TOKEN}
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub_idle_culler", f"--url={hub.url}hub/api",
         f"--timeout={IDLE_SECONDS}", "--cull-every=1", "--concurrency=1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_the_culler_token_has_exactly_the_documented_scopes(hub):
    with api_client(hub, CULLER_TOKEN) as client:
        scopes = set(client.get("user").json()["scopes"])
    assert {"list:users", "read:users:activity", "read:servers", "delete:servers"} <= scopes
    assert not {"admin:users", "servers", "start:servers", "admin:servers"} & scopes


def test_the_idle_culler_stops_an_idle_server(hub, culler):
    with api_client(hub) as api:
        name = new_user(api, "idle")
        start_server(api, name)
        busy = new_user(api, "busy")
        start_server(api, busy)
        # busy's server reports activity, as jupyterhub-singleuser would; the mock
        # server never does, so idle's last_activity stays at its start.

        def culled() -> bool:
            now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            api.post(f"users/{busy}/activity", json={"servers": {"": {"last_activity": now}}})
            return not api.get(f"users/{name}").json()["servers"]

        try:
            wait_until(culled, timeout=30, interval=0.5)
        except AssertionError:
            culler.send_signal(signal.SIGTERM)
            output = culler.communicate(timeout=10)[0].decode(errors="replace")
            raise AssertionError(f"the idle culler did not cull; its output:\n{output}") \
                from None
        assert api.get(f"users/{name}/server").json()["stopped"] is True
        assert api.get(f"users/{busy}").json()["servers"][""]["ready"] is True
        assert api.get(f"users/{name}").status_code == 200  # --cull-users is off
        api.delete(f"users/{busy}/server")

