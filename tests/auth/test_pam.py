"""The pam authenticator with real Unix accounts and a real PAM stack.

Each test uses its own PAM service (a file in /etc/pam.d) with `nodelay`, so
a wrong password does not cost seconds, and pam_exec to record the sessions
PAM opens and closes.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kernel.testing.hub import hub_app
from kernel.testing.infra import PASSWORD, skip_or_fail


@pytest.fixture
def make_pam_service(tmp_path):
    """Makes PAM services of our own: (name, the file pam_exec writes session events to)."""
    if os.geteuid() != 0:
        skip_or_fail("checking other users' passwords with PAM needs root")
    made: list[Path] = []

    def make(account: str = "pam_unix.so") -> tuple[str, Path]:
        name = f"kernelhub-test-{secrets.token_hex(3)}"
        events = tmp_path / f"{name}.log"
        events.touch(mode=0o666)
        recorder = tmp_path / f"{name}.sh"
        recorder.write_text(f'#!/bin/sh\necho "$PAM_TYPE $PAM_USER" >> {events}\n')
        recorder.chmod(0o755)
        service = Path("/etc/pam.d") / name
        service.write_text("auth required pam_unix.so nodelay\n"
                           f"account required {account}\n"
                           "session required pam_unix.so\n"
                           f"session optional pam_exec.so {recorder}\n")
        made.append(service)
        return name, events

    yield make
    for service in made:
        service.unlink(missing_ok=True)


@pytest.fixture
def pam_service(make_pam_service):
    return make_pam_service()


def hub_with_pam(tmp_path, service: str, **pam: str):
    return hub_app(tmp_path / "hub", {"hub": {"authenticator_class": "pam"},
                                      "auth": {"allow_all": "true"},
                                      "pam": {"service": service, **pam}})


def login(client: TestClient, username: str, password: str):
    page = client.get("/hub/login")
    xsrf = page.text.split('name="_xsrf" value="', 1)[1].split('"', 1)[0]
    return client.post("/hub/login", data={"username": username, "password": password,
                                           "_xsrf": xsrf}, follow_redirects=False)


def test_the_right_password_logs_in(tmp_path, pam_service, unix_user):
    alice = unix_user()
    client = TestClient(hub_with_pam(tmp_path, pam_service[0]))
    assert login(client, alice.pw_name, PASSWORD).status_code == 302
    assert client.get("/hub/api/user").json()["name"] == alice.pw_name


def test_a_wrong_password_is_refused(tmp_path, pam_service, unix_user):
    alice = unix_user()
    client = TestClient(hub_with_pam(tmp_path, pam_service[0]))
    response = login(client, alice.pw_name, "not-" + PASSWORD)
    assert response.status_code == 403
    assert "Invalid username or password." in response.text


def test_an_unknown_user_is_refused(tmp_path, pam_service):
    client = TestClient(hub_with_pam(tmp_path, pam_service[0]))
    assert login(client, f"nobody{secrets.token_hex(3)}", PASSWORD).status_code == 403


def test_a_locked_account_is_refused_by_check_account(tmp_path, make_pam_service,
                                                      unix_user):
    alice = unix_user()
    # The account stage refuses everyone: the password is right, the account is not usable.
    service, _ = make_pam_service(account="pam_deny.so")
    checked = TestClient(hub_with_pam(tmp_path / "checked", service))
    assert login(checked, alice.pw_name, PASSWORD).status_code == 403
    unchecked = TestClient(hub_with_pam(tmp_path / "unchecked", service,
                                        check_account="false"))
    assert login(unchecked, alice.pw_name, PASSWORD).status_code == 302


def test_an_expired_account_is_refused(tmp_path, pam_service, unix_user):
    alice = unix_user()
    subprocess.run(["chage", "-E", "0", alice.pw_name], check=True)  # expired in 1970
    client = TestClient(hub_with_pam(tmp_path, pam_service[0]))
    assert login(client, alice.pw_name, PASSWORD).status_code == 403


def test_a_member_of_an_admin_group_is_an_admin(tmp_path, pam_service, unix_user):
    alice, bob = unix_user(), unix_user()
    group = f"khadm{secrets.token_hex(3)}"
    subprocess.run(["groupadd", group], check=True)
    try:
        subprocess.run(["usermod", "-aG", group, alice.pw_name], check=True)
        client = TestClient(hub_with_pam(tmp_path, pam_service[0], admin_groups=group))
        login(client, alice.pw_name, PASSWORD)
        assert client.get("/hub/api/user").json()["admin"] is True
        other = TestClient(client.app)
        login(other, bob.pw_name, PASSWORD)
        assert other.get("/hub/api/user").json()["admin"] is False
    finally:
        subprocess.run(["groupdel", group], check=False)


def test_allowed_groups_let_their_members_in(tmp_path, pam_service, unix_user):
    alice, bob = unix_user(), unix_user()
    group = f"khok{secrets.token_hex(3)}"
    subprocess.run(["groupadd", group], check=True)
    try:
        subprocess.run(["usermod", "-aG", group, alice.pw_name], check=True)
        app = hub_app(tmp_path / "hub", {"hub": {"authenticator_class": "pam"},
                                         "auth": {"allow_all": "false"},
                                         "pam": {"service": pam_service[0],
                                                 "allowed_groups": group}})
        assert login(TestClient(app), alice.pw_name, PASSWORD).status_code == 302
        assert login(TestClient(app), bob.pw_name, PASSWORD).status_code == 403
    finally:
        subprocess.run(["groupdel", group], check=False)


def test_open_sessions_opens_before_the_server_starts_and_closes_after_it_stops(
        tmp_path, pam_service, unix_user):
    service, events = pam_service
    alice = unix_user()
    app = hub_with_pam(tmp_path, service, open_sessions="true")
    with TestClient(app) as client:
        login(client, alice.pw_name, PASSWORD)
        headers = {"X-XSRFToken": client.cookies["_xsrf"]}
        assert client.post(f"/hub/api/users/{alice.pw_name}/server",
                           headers=headers).status_code == 201
        assert events.read_text().split("\n")[:1] == [f"open_session {alice.pw_name}"]
        assert client.delete(f"/hub/api/users/{alice.pw_name}/server",
                             headers=headers).status_code == 204
    assert events.read_text().splitlines() == [f"open_session {alice.pw_name}",
                                               f"close_session {alice.pw_name}"]
