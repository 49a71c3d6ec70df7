"""What the user chooses reaches the spawner, which may offer its own form and refuse a
choice with a 400; a spawner that learns its server is gone has it noticed at once.

The hub runs in this process with the `choosy-spawner` test plugin
(tests/fake_plugins/choosy_spawner.py), the real kernel-proxy and real servers.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kernel.testing.hub import hub_app, merge, wait_until
from tests.hooks.test_hooks import api_xsrf, login

CHOOSY = {"hub": {"spawner_class": "choosy-spawner"}}


@pytest.fixture
def client(tmp_path, installed):
    with TestClient(hub_app(tmp_path / "hub", CHOOSY, installed=installed)) as client:
        login(client, "alice")
        yield client


def test_a_refused_choice_is_a_400_with_the_spawners_reason(client):
    answer = client.post("/hub/api/users/alice/server", json={"flavour": "rocky-road"},
                         headers=api_xsrf(client))
    assert answer.status_code == 400
    assert "There is no flavour 'rocky-road': choose vanilla or mint" in answer.json()["message"]
    assert client.get("/hub/api/users/alice/server").json()["ready"] is False

    accepted = client.post("/hub/api/users/alice/server", json={"flavour": "mint"},
                           headers=api_xsrf(client))
    assert accepted.status_code in (201, 202)
    model = wait_until(lambda: (m := client.get("/hub/api/users/alice/server").json())["ready"]
                       and m)
    assert model["user_options"] == {"flavour": "mint"}


def test_the_spawn_page_shows_the_spawners_own_form_and_submits_it(client):
    assert "/hub/spawn/alice" in client.get("/hub/home").text  # has an options form
    page = client.get("/hub/spawn/alice").text
    assert '<select name="flavour"><option value="vanilla">' in page
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)
    client.post("/hub/spawn/alice", data={"flavour": "mint", "_xsrf": xsrf},
                follow_redirects=False)
    model = wait_until(lambda: (m := client.get("/hub/api/users/alice/server").json())["ready"]
                       and m)
    assert model["user_options"] == {"flavour": "mint"}


def test_poll_now_notices_a_dead_server_long_before_the_poll_interval(tmp_path, installed):
    sections = merge(CHOOSY, {"spawner": {"poll_interval": "3600"}})
    app = hub_app(tmp_path / "hub", sections, installed=installed)
    with TestClient(app) as client:
        login(client, "alice")
        client.post("/hub/api/users/alice/server", headers=api_xsrf(client))
        wait_until(lambda: client.get("/hub/api/users/alice/server").json()["ready"])
        server = app.state.hub.users.get("alice").server()
        pid = server.spawner.pid
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: _dead(pid), what=f"process {pid} dead after SIGKILL")
        client.portal.call(app.state.hub.lifecycle.poll_now, server)
        wait_until(lambda: not client.get("/hub/api/users/alice/server").json()["ready"],
                   timeout=5, what="the killed server marked stopped after poll_now")


def _dead(pid: int) -> bool:
    """Gone, or a zombie that its parent (the hub, in this process) has yet to reap."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")
