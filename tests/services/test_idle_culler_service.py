"""The real jupyterhub-idle-culler (from PyPI), run by the hub as a managed service with
exactly the scopes its README asks for, culls a test user's idle server."""

from __future__ import annotations

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
            raise AssertionError(f"the idle culler did not cull; the hub's log:\n{hub.log}") \
                from None
        assert api.get(f"users/{name}/server").json()["stopped"] is True
        assert api.get(f"users/{busy}").json()["servers"][""]["ready"] is True
        assert api.get(f"users/{name}").status_code == 200  # --cull-users is off
        assert f"DELETE /hub/api/users/{name}/server (idle-culler@" in hub.log  # by it
        api.delete(f"users/{busy}/server")
