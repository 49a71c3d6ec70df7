"""The whole hub with real processes: `kernel serve`, kernel-proxy, and users' servers.

Everything goes through the public port, as a browser's requests do.
"""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

import httpx
import pytest

from kernel.testing.hub import running_hub, wait_until

V1_DUMP = Path(__file__).parent.parent / "data" / "schema-v1.sql"


@pytest.fixture
def hub(tmp_path):
    with running_hub(tmp_path / "hub") as hub:
        yield hub


def test_the_api_root_health_and_version_header(hub):
    root = httpx.get(f"{hub.url}hub/api/")
    assert root.json() == {"version": root.headers["x-jupyterhub-version"]}
    assert httpx.get(f"{hub.url}hub/health").status_code == 200
    assert httpx.get(f"{hub.url}hub/api/health").status_code == 200


def test_logging_in_starts_the_server_and_lands_on_it(hub):
    client = hub.client()
    response = client.login("alice")
    assert response.status_code == 302
    assert response.headers["location"] == "/hub/spawn"
    page = client.get("hub/spawn", follow_redirects=True)
    # The spawn-pending page follows the progress stream; do what its script does.
    assert page.url.path in ("/hub/spawn-pending/alice", "/user/alice/")
    events = client.get("hub/api/users/alice/server/progress",
                        headers={"X-XSRFToken": client.cookies["_xsrf"]}).text
    assert '"ready": true' in events
    landing = client.get("user/alice/")
    assert landing.status_code == 200
    assert "Hello, alice" in landing.text


def test_a_wrong_password_is_refused(hub):
    response = hub.client().login("alice", "not the password")
    assert response.status_code == 403
    assert "Invalid username or password." in response.text


def test_home_start_then_stop(tmp_path):
    with running_hub(tmp_path / "hub", {"hub": {"redirect_to_server": "false"}}) as hub:
        client = hub.client()
        assert client.login("bob").headers["location"] == "/hub/home"
        home = client.get("hub/home").text
        assert "Stopped" in home and ">Start<" in home
        xsrf = client.xsrf("hub/home")
        started = client.post("hub/spawn/bob", data={"_xsrf": xsrf}, follow_redirects=False)
        assert started.headers["location"] == "/hub/spawn-pending/bob"
        wait_until(lambda: "Hello, bob" in client.get("user/bob/").text)
        assert "Running" in client.get("hub/home").text

        stopped = client.delete("hub/api/users/bob/server",
                                headers={"X-XSRFToken": client.cookies["_xsrf"]})
        assert stopped.status_code == 204
        after = client.get("user/bob/", follow_redirects=True)
        assert after.status_code == 424
        assert "Your server is not running" in after.text


def test_the_proxy_routes_each_user_to_their_own_server(hub):
    alice, bob = hub.client(), hub.client()
    for client, name in ((alice, "alice"), (bob, "bob")):
        client.login(name)
        client.post(f"hub/api/users/{name}/server",
                    headers={"X-XSRFToken": client.cookies["_xsrf"]})
    assert alice.get("user/alice/env").json()["JUPYTERHUB_USER"] == "alice"
    assert bob.get("user/bob/env").json()["JUPYTERHUB_USER"] == "bob"


def test_a_server_that_exits_at_once_fails_clearly_and_leaves_nothing_pending(tmp_path):
    sections = {"spawner": {"cmd": "python3 -c 'import sys; sys.exit(3)'"}}
    with running_hub(tmp_path / "hub", sections) as hub:
        client = hub.client()
        client.login("carol")
        headers = {"X-XSRFToken": client.cookies["_xsrf"]}
        response = client.post("hub/api/users/carol/server", headers=headers)
        assert response.status_code == 500
        assert "exited with status 3" in response.json()["message"]
        model = client.get("hub/api/user").json()
        assert model["pending"] is None and model["servers"] == {}
        # It can be started again (and fails again the same way).
        assert client.post("hub/api/users/carol/server", headers=headers).status_code == 500


def test_shutdown_stops_the_servers_and_the_proxy(tmp_path):
    with running_hub(tmp_path / "hub") as hub:
        client = hub.client()
        client.login("dave")
        client.post("hub/api/users/dave/server",
                    headers={"X-XSRFToken": client.cookies["_xsrf"]})
        server = int(client.get("user/dave/env").json()["pid"])
        proxy = int((hub.directory / "proxy.pid").read_text())
        assert hub.stop() == 0
    for pid in (server, proxy):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_pid_file_is_written_while_serving(tmp_path):
    pid_file = tmp_path / "hub.pid"
    with running_hub(tmp_path / "hub", {"hub": {"pid_file": str(pid_file)}}) as hub:
        assert int(pid_file.read_text()) == hub.process.pid
    assert not pid_file.exists()


def test_a_killed_server_is_noticed_within_poll_interval(tmp_path):
    with running_hub(tmp_path / "hub", {"spawner": {"poll_interval": "1"}}) as hub:
        client = hub.client()
        client.login("erin")
        client.post("hub/api/users/erin/server",
                    headers={"X-XSRFToken": client.cookies["_xsrf"]})
        pid = int(client.get("user/erin/env").json()["pid"])
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: client.get("hub/api/user").json()["servers"] == {}, timeout=5)
        assert client.get("user/erin/", follow_redirects=True).status_code == 424


def test_without_cleanup_a_restarted_hub_takes_over_the_proxy_and_servers(tmp_path):
    sections = {"hub": {"cleanup_servers": "false", "cleanup_proxy": "false"},
                "proxy": {"auth_token": "a-token-that-survives-restarts"}}
    with running_hub(tmp_path / "hub", sections) as hub:
        client = hub.client()
        client.login("frank")
        client.post("hub/api/users/frank/server",
                    headers={"X-XSRFToken": client.cookies["_xsrf"]})
        server = int(client.get("user/frank/env").json()["pid"])
        proxy = int((hub.directory / "proxy.pid").read_text())
        assert hub.stop() == 0

        # The hub is down; the proxy and the server run on, and frank's server answers.
        os.kill(server, 0)
        os.kill(proxy, 0)
        assert "Hello, frank" in httpx.get(f"{hub.url}user/frank/").text

        hub.start()
        assert int((hub.directory / "proxy.pid").read_text()) == proxy  # taken over
        model = client.get("hub/api/user").json()
        assert model["servers"][""]["ready"] is True
        assert int(client.get("user/frank/env").json()["pid"]) == server
    for pid in (server, proxy):
        os.kill(pid, signal.SIGKILL)


def test_upgrade_db_upgrades_an_old_database_at_start_up(tmp_path):
    directory = tmp_path / "hub"
    directory.mkdir()
    with sqlite3.connect(directory / "old.sqlite") as connection:
        connection.executescript(V1_DUMP.read_text())
    sections = {"hub": {"db_url": f"sqlite:///{directory / 'old.sqlite'}",
                        "upgrade_db": "true"}}
    with running_hub(directory, sections) as hub:
        client = hub.client()
        client.login("alice")  # alice is in the old database, an admin
        assert client.get("hub/api/user").json()["admin"] is True
    assert len(list(directory.glob("old.sqlite.*.bak"))) == 1


def test_reset_db_starts_with_an_empty_database(tmp_path):
    with running_hub(tmp_path / "hub") as hub:
        hub.client().login("gone")
    with running_hub(tmp_path / "hub", {"hub": {"reset_db": "true"},
                                        "auth": {"allow_all": "false"}}) as hub:
        # allow_existing_users would let "gone" in again, had it survived the reset.
        assert hub.client().login("gone").status_code == 403
