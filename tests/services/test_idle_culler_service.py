"""The real jupyterhub-idle-culler (from PyPI), run by the hub as a managed service with
exactly the scopes its README asks for, culls a test user's idle server."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from kernel.testing.hub import HubProcess, running_hub
from kernel.testing.infra import skip_or_fail
from tests.api.helpers import HUB_SECTIONS, api_client, idle_server_is_culled

CULLER_TOKEN = "culler-token-1234567890"
#: What the idle culler's README asks for (without --cull-users).
CULLER_SCOPES = "list:users, read:users:activity, read:servers, delete:servers"
IDLE_SECONDS = 2


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    try:
        import jupyterhub_idle_culler  # noqa: F401
    except ImportError:
        skip_or_fail("jupyterhub-idle-culler is not installed")
    sections = {
        **HUB_SECTIONS,
        # Activity is kept to the second, not JupyterHub's 30 s: the test's busy server
        # reports every half second, and the culler's timeout is 2 s.
        "hub": {**HUB_SECTIONS["hub"], "activity_resolution": "0"},
        # As its README shows; the token is given only so that the test can check it.
        "service:idle-culler": {
            "command": f"{sys.executable} -m jupyterhub_idle_culler "
                       f"--timeout={IDLE_SECONDS} --cull-every=1 --concurrency=1",
            "api_token": CULLER_TOKEN},
        "role:idle-culler": {"scopes": CULLER_SCOPES, "services": "idle-culler"},
    }
    with running_hub(tmp_path_factory.mktemp("hub"), sections) as hub:
        yield hub


def test_the_culler_token_has_exactly_the_documented_scopes(hub):
    with api_client(hub, CULLER_TOKEN) as client:
        me = client.get("user").json()
    assert (me["kind"], me["name"]) == ("service", "idle-culler")
    scopes = set(me["scopes"])
    assert {"list:users", "read:users:activity", "read:servers", "delete:servers"} <= scopes
    assert not {"admin:users", "servers", "start:servers", "admin:servers"} & scopes


def test_the_idle_culler_stops_an_idle_server(hub):
    with api_client(hub) as api:
        name = idle_server_is_culled(api, lambda: hub.log)
    assert f"DELETE /hub/api/users/{name}/server (idle-culler@" in hub.log  # by the service
