"""Every login is reported the same way, whatever route it comes by: the password form,
an automatic login, a token asked for with a password. Each attempt gives one
``login_duration_seconds`` measurement and one ``login`` or ``login.failed`` event."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from kernel.testing.hub import PASSWORD, hub_app
from tests.fake_plugins import hook_probe
from tests.fake_plugins.hook_probe import calls


def reports() -> tuple[list[str], list[str]]:
    """The login events and login measurements the probe plugin saw."""
    return ([name for name in calls("log") if name.startswith("login")],
            [name for name in calls("metrics") if name == "login_duration_seconds"])


@pytest.fixture
def probe_app(tmp_path, installed):
    def make(**auth: str):
        hook_probe.CALLS.clear()
        return hub_app(tmp_path / "hub", {"hub": {"plugins": "probe"}, "auth": auth},
                       installed=installed)
    return make


def test_a_refused_automatic_login_is_reported(probe_app):
    # The dummy authenticator wants a password, which an automatic login cannot give.
    client = TestClient(probe_app(auto_login="true"))
    assert client.get("/hub/login").status_code == 403
    assert reports() == (["login.failed"], ["login_duration_seconds"])


def test_a_token_asked_for_with_a_password_is_a_reported_login(probe_app):
    client = TestClient(probe_app())
    wrong = client.post("/hub/api/users/alice/tokens",
                        json={"auth": {"username": "alice", "password": "wrong"}})
    assert wrong.status_code == 403
    right = client.post("/hub/api/users/alice/tokens",
                        json={"auth": {"username": "alice", "password": PASSWORD}})
    assert right.status_code == 201
    assert reports() == (["login.failed", "login"],
                         ["login_duration_seconds", "login_duration_seconds"])


def test_a_plugins_login_service_is_reported_as_the_form_is(probe_app):
    client = TestClient(probe_app())
    answer = client.get("/hub/probe-login", params={"user": "alice"}, follow_redirects=False)
    assert answer.status_code == 302
    assert reports() == (["login"], ["login_duration_seconds"])
