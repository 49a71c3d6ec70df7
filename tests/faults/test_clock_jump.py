"""The hub's clock jumps forward an hour, and back a minute: nothing is culled or lost by it.

The hub runs in this process (so that its clock seam, ``kernel.clock.shift``,
moves its clock and nobody else's) with real servers
(``kernel.testing.mockserver``) and the idle-culler plugin at a timeout of an
hour, looking every second. Users' servers keep the machine's time, like
servers on another host whose clock did not jump. What the hub does, and
where it differs from JupyterHub, is in docs/operations.md.

A "control" server, made idle for two hours by the hub's own clock, shows
that the culler has looked at every server since a given moment: once it is
culled, the others have been judged too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from importlib.metadata import EntryPoint

import pytest
from starlette.testclient import TestClient

from kernel import clock
from kernel.clock import utcnow
from kernel.hub import Hub
from kernel.testing.hub import PASSWORD, hub_app, wait_until

ADMIN_TOKEN = "clock-jump-admin-token-0123456789"
ADMIN = {"Authorization": f"token {ADMIN_TOKEN}"}
HOUR = timedelta(hours=1)


@pytest.fixture
def jump() -> Iterator[Callable[[timedelta], None]]:
    """Jump the hub's clock (``kernel.clock.shift``); it is put right after the test."""
    jumped: list[timedelta] = []

    def by(delta: timedelta) -> None:
        clock.shift(delta)
        jumped.append(delta)

    yield by
    clock.shift(-sum(jumped, timedelta(0)))


@pytest.fixture
def running(tmp_path, installed) -> Iterator[tuple[TestClient, Hub]]:
    plugins = {**installed,
               "idle-culler": EntryPoint("idle-culler", "plugins.idle_culler", "kernelhub")}
    app = hub_app(tmp_path / "hub", {
        "hub": {"plugins": "idle-culler", "activity_resolution": "0"},
        "idle-culler": {"timeout": "3600", "cull_every": "1"},
        "hub.api_tokens": {ADMIN_TOKEN: "admin"},
        "auth": {"admin_users": "admin"},
    }, installed=plugins)
    with TestClient(app) as client:
        yield client, app.state.hub


def start_server(client: TestClient, user: str) -> None:
    assert client.post(f"/hub/api/users/{user}", headers=ADMIN).status_code in (201, 409)
    response = client.post(f"/hub/api/users/{user}/server", headers=ADMIN)
    assert response.status_code == 201, response.text


def culler_has_looked(client: TestClient, hub: Hub, control: str) -> None:
    """Start ``control``'s server two hours idle by the hub's clock; wait until culled."""
    start_server(client, control)
    server = hub.users.get(control).server("")
    server.last_activity = utcnow() - 2 * HOUR
    wait_until(lambda: not server.active, 20, what=f"{control}'s idle server culled")


def machine_now() -> str:
    """The machine's time, which users' servers report (the hub's clock jumped alone)."""
    return datetime.now(UTC).isoformat()


def report_activity(client: TestClient, user: str, when: str) -> int:
    return client.post(f"/hub/api/users/{user}/activity", headers=ADMIN,
                       json={"servers": {"": {"last_activity": when}}}).status_code


def log_in(client: TestClient, name: str) -> None:
    page = client.get("/hub/login")
    xsrf = page.text.split('name="_xsrf" value="', 1)[1].split('"', 1)[0]
    answer = client.post("/hub/login", data={"username": name, "password": PASSWORD,
                                             "_xsrf": xsrf}, follow_redirects=False)
    assert answer.status_code == 302, answer.text


def logged_in(client: TestClient) -> bool:
    return client.get("/hub/home", follow_redirects=False).status_code == 200


def test_a_jump_forward_by_an_hour_culls_no_server(running, jump, caplog):
    client, hub = running
    start_server(client, "alice")
    start_server(client, "bob")
    culler_has_looked(client, hub, "control-before")
    with caplog.at_level(logging.WARNING, "kernelhub.idle-culler"):
        jump(HOUR)
        # bob's server reports activity by its own clock, an hour behind the hub's now.
        assert report_activity(client, "bob", machine_now()) == 200
        culler_has_looked(client, hub, "control-after")
    assert hub.users.get("alice").server("").ready
    assert hub.users.get("bob").server("").ready
    assert "clock jumped by +3600 s" in caplog.text


def test_a_jump_back_by_a_minute_culls_no_server_and_keeps_activity(running, jump):
    client, hub = running
    start_server(client, "alice")
    culler_has_looked(client, hub, "control-before")
    jump(-timedelta(minutes=1))
    # The server's report is a minute ahead of the hub's clock now: still accepted.
    reported = machine_now()
    assert report_activity(client, "alice", reported) == 200
    assert hub.users.get("alice").server("").last_activity == datetime.fromisoformat(reported)
    culler_has_looked(client, hub, "control-after")
    assert hub.users.get("alice").server("").ready


def test_token_expiry_follows_the_hub_clock(running, jump):
    client, _ = running
    client.post("/hub/api/users/alice", headers=ADMIN)
    tokens = {expires_in: client.post("/hub/api/users/alice/tokens", headers=ADMIN,
                                      json={"expires_in": expires_in}).json()["token"]
              for expires_in in (1800, 7200)}

    def works(token: str) -> bool:
        answer = client.get("/hub/api/user", headers={"Authorization": f"token {token}"})
        assert answer.status_code in (200, 403), answer.text
        return answer.status_code == 200

    assert works(tokens[1800]) and works(tokens[7200])
    jump(-timedelta(minutes=1))
    assert works(tokens[1800]) and works(tokens[7200])
    jump(HOUR)
    # Expiry is a wall-clock time (the API shows expires_at): half an hour has passed it.
    assert not works(tokens[1800])
    assert works(tokens[7200])


def test_a_login_survives_a_jump_back_and_forward(running, jump):
    client, _ = running
    log_in(client, "alice")
    assert logged_in(client)
    # The cookie was signed a minute "in the future" by the hub's clock now.
    jump(-timedelta(minutes=1))
    assert logged_in(client)
    jump(HOUR)
    assert logged_in(client)


def test_a_login_cookie_past_its_max_age_is_refused_after_a_jump(running, jump):
    client, _ = running
    log_in(client, "alice")
    jump(timedelta(days=15))  # cookie_max_age_days is 14
    assert not logged_in(client)
