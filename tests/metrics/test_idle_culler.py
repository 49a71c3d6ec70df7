"""The idle-culler plugin stops idle servers from the hub's own activity data.

The hub runs in this process with real servers (kernel.testing.mockserver,
which never reports activity, so a server's last_activity stays at its
start unless the test reports some). The `first` recorder plugin sees the
``server.culled`` events.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from importlib.metadata import EntryPoint

import pytest
from starlette.testclient import TestClient

from kernel.clock import utcnow
from kernel.hub import Hub
from kernel.testing.hub import hub_app
from tests.fake_plugins import recorder
from tests.metrics.conftest import wait_for

ADMIN_TOKEN = "culler-test-admin-token-0123456789"
ADMIN = {"Authorization": f"token {ADMIN_TOKEN}"}


@pytest.fixture
def culling_hub(tmp_path, installed):
    """A function: [idle-culler] options -> (a client of the running hub, the hub)."""
    recorder.CALLS.clear()
    plugins = {**installed,
               "idle-culler": EntryPoint("idle-culler", "plugins.idle_culler", "kernelhub")}
    with contextlib.ExitStack() as running:

        def start(culler: dict[str, str]) -> tuple[TestClient, Hub]:
            app = hub_app(tmp_path / "hub", {
                "hub": {"plugins": "idle-culler, first", "activity_resolution": "0",
                        "allow_named_servers": "true"},
                "idle-culler": culler,
                "hub.api_tokens": {ADMIN_TOKEN: "admin"},
                "auth": {"admin_users": "admin"},
            }, installed=plugins)
            return running.enter_context(TestClient(app)), app.state.hub

        yield start


def start_server(client: TestClient, user: str, server: str = "") -> None:
    if client.get(f"/hub/api/users/{user}", headers=ADMIN).status_code == 404:
        assert client.post(f"/hub/api/users/{user}", headers=ADMIN).status_code == 201
    path = f"/hub/api/users/{user}/servers/{server}" if server else \
        f"/hub/api/users/{user}/server"
    response = client.post(path, headers=ADMIN)
    assert response.status_code == 201, response.text


def culled() -> list[str]:
    return [event for plugin, event in recorder.CALLS if event == "server.culled"]


def test_an_idle_server_is_culled_and_an_active_one_is_kept(culling_hub):
    client, hub = culling_hub({"timeout": "2", "cull_every": "1"})
    start_server(client, "idle")
    start_server(client, "busy")

    def idle_is_culled_while_busy_reports_activity() -> bool:
        now = utcnow().isoformat()
        reported = client.post("/hub/api/users/busy/activity", headers=ADMIN,
                               json={"servers": {"": {"last_activity": now}}})
        assert reported.status_code == 200
        return not hub.users.get("idle").server("").active

    wait_for(idle_is_culled_while_busy_reports_activity, 10, "idle's server culled")
    assert hub.users.get("busy").server("").ready
    assert culled() == ["server.culled"]


def test_a_named_server_is_removed_with_remove_named_servers(culling_hub):
    client, hub = culling_hub({"timeout": "3600", "cull_every": "1",
                               "remove_named_servers": "true"})
    start_server(client, "alice", "gpu")
    server = hub.users.get("alice").server("gpu")
    server.last_activity = utcnow() - timedelta(hours=2)
    wait_for(lambda: "gpu" not in hub.users.get("alice").servers, 5, "alice's gpu removed")


def test_a_server_older_than_max_age_is_culled_even_when_in_use(culling_hub):
    client, hub = culling_hub({"timeout": "3600", "cull_every": "1", "max_age": "60"})
    start_server(client, "alice")
    server = hub.users.get("alice").server("")
    server.started = utcnow() - timedelta(minutes=2)
    server.last_activity = utcnow()
    wait_for(lambda: not server.active, 5, "alice's server culled for its age")
    assert "alice" in hub.users  # stopped, not removed: it is the default server


def test_cull_users_deletes_inactive_users_whose_last_server_was_culled(culling_hub):
    client, hub = culling_hub({"timeout": "3600", "cull_every": "1", "cull_users": "true",
                               "cull_admin_users": "false"})
    start_server(client, "alice")
    start_server(client, "admin")
    for name in ("alice", "admin"):
        user = hub.users.get(name)
        user.last_activity = user.server("").last_activity = utcnow() - timedelta(hours=2)
    wait_for(lambda: "alice" not in hub.users, 5, "alice deleted")
    # The admin's server is culled, but admins stay without cull_admin_users.
    assert not hub.users.get("admin").server("").active
