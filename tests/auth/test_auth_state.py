"""enable_auth_state: what an authenticator hands over is kept encrypted, keys can rotate."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from starlette.testclient import TestClient

from kernel.db import models as orm
from kernel.security.auth_state import AuthStateError
from kernel.testing.hub import hub_app

SECTIONS = {"hub": {"authenticator_class": "state-authenticator"},
            "auth": {"enable_auth_state": "true"}}


def log_in(app, name: str = "alice") -> None:
    client = TestClient(app)
    page = client.get("/hub/login")
    xsrf = page.text.split('name="_xsrf" value="', 1)[1].split('"', 1)[0]
    client.post("/hub/login", data={"username": name, "password": "x", "_xsrf": xsrf},
                follow_redirects=False)


def state_of(app, name: str = "alice"):
    hub = app.state.hub
    return asyncio.run(hub.logins.auth_state(hub.users.get(name)))


def test_auth_state_is_stored_encrypted_and_read_back(tmp_path, installed, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", secrets.token_hex(32))
    app = hub_app(tmp_path, SECTIONS, installed=installed)
    log_in(app)
    stored = app.state.hub.db.call(
        lambda: orm.User.get(orm.User.name == "alice").encrypted_auth_state)
    assert b"secret-xyz-123" not in bytes(stored)
    assert state_of(app) == {"access_token": "secret-xyz-123"}


def test_a_rotated_key_still_decrypts(tmp_path, installed, monkeypatch):
    old, new = secrets.token_hex(32), secrets.token_hex(32)
    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", old)
    log_in(hub_app(tmp_path, SECTIONS, installed=installed))
    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", f"{new};{old}")
    assert state_of(hub_app(tmp_path, SECTIONS, installed=installed)) == {
        "access_token": "secret-xyz-123"}
    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", new)
    with pytest.raises(AuthStateError, match="a key no longer in JUPYTERHUB_CRYPT_KEY"):
        state_of(hub_app(tmp_path, SECTIONS, installed=installed))


def test_auth_state_without_a_key_is_a_clear_start_up_error(tmp_path, installed,
                                                            monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_CRYPT_KEY", raising=False)
    with pytest.raises(AuthStateError, match="enable_auth_state needs JUPYTERHUB_CRYPT_KEY"):
        hub_app(tmp_path, SECTIONS, installed=installed)


def test_a_malformed_key_is_refused(tmp_path, installed, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", "too-short")
    with pytest.raises(AuthStateError, match="must be 32 bytes"):
        hub_app(tmp_path, SECTIONS, installed=installed)


def test_without_enable_auth_state_nothing_is_kept(tmp_path, installed):
    app = hub_app(tmp_path, {"hub": {"authenticator_class": "state-authenticator"}},
                  installed=installed)
    log_in(app)
    assert state_of(app) is None


def test_invalid_user_names_stop_the_hub_unless_deleted(tmp_path):
    hub_app(tmp_path, {"hub.api_tokens": {"a-token-of-enough-length": "Bad.Name"}})
    with pytest.raises(Exception, match=r"1 user\(s\) in the database have names this "
                                        r"configuration does not allow \(Bad.Name\)"):
        hub_app(tmp_path, {"auth": {"username_pattern": "[a-z]+"}})
    app = hub_app(tmp_path, {"auth": {"username_pattern": "[a-z]+",
                                      "delete_invalid_users": "true"}})
    assert app.state.hub.users.get("Bad.Name") is None


def test_a_user_blocked_after_logging_in_loses_api_access_at_once(tmp_path):
    token = "a-token-for-someone-soon-blocked"
    before = TestClient(hub_app(tmp_path, {"hub.api_tokens": {token: "carol"}}))
    assert before.get("/hub/api/user", headers={"Authorization": f"token {token}"}
                      ).status_code == 200
    after = TestClient(hub_app(tmp_path, {"hub.api_tokens": {token: "carol"},
                                          "auth": {"blocked_users": "carol"}}))
    assert after.get("/hub/api/user", headers={"Authorization": f"token {token}"}
                     ).status_code == 403


def test_the_rest_api_shows_auth_state_to_holders_of_admin_auth_state(tmp_path, installed,
                                                                       monkeypatch):
    # As JupyterHub's GET /users/NAME: decrypted for admin:auth_state, absent otherwise.
    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", secrets.token_hex(32))
    sections = {**SECTIONS,
                "service:keeper": {"api_token": "keeper-token-0123456789"},
                "service:reader": {"api_token": "reader-token-0123456789"},
                "role:keeper": {"scopes": "admin:auth_state, read:users",
                                "services": "keeper"},
                "role:reader": {"scopes": "read:users", "services": "reader"}}
    app = hub_app(tmp_path, sections, installed=installed)
    log_in(app)
    client = TestClient(app)

    def alice(token: str) -> dict:
        response = client.get("/hub/api/users/alice",
                              headers={"Authorization": f"token {token}"})
        assert response.status_code == 200, response.text
        return response.json()

    assert alice("keeper-token-0123456789")["auth_state"] == {"access_token": "secret-xyz-123"}
    assert "auth_state" not in alice("reader-token-0123456789")
