"""The real jupyterhub-idle-culler (from PyPI), run as its own process with a token of
exactly the scopes its README asks for, culls a test user's idle server.

tests/services/test_idle_culler_service.py runs it as a managed service instead."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from kernel.testing.hub import HubProcess, running_hub, stop_process
from kernel.testing.infra import skip_or_fail
from tests.api.helpers import HUB_SECTIONS, api_client, idle_server_is_culled

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
    stop_process(process)


def test_the_culler_token_has_exactly_the_documented_scopes(hub):
    with api_client(hub, CULLER_TOKEN) as client:
        scopes = set(client.get("user").json()["scopes"])
    assert {"list:users", "read:users:activity", "read:servers", "delete:servers"} <= scopes
    assert not {"admin:users", "servers", "start:servers", "admin:servers"} & scopes


def test_the_idle_culler_stops_an_idle_server(hub, culler):
    def output() -> str:
        culler.send_signal(signal.SIGTERM)
        return culler.communicate(timeout=10)[0].decode(errors="replace")

    with api_client(hub) as api:
        idle_server_is_culled(api, output)
