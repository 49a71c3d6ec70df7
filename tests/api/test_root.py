"""The API root, /info, whoami (GET /user), authentication, headers and /shutdown."""

from __future__ import annotations

import re

import httpx

from kernel.testing.hub import running_hub
from tests.api.helpers import (
    ADMIN_TOKEN,
    HUB_SECTIONS,
    api_client,
    assert_error,
    new_token,
    new_user,
)


def test_the_root_answers_the_version_to_anyone(anonymous):
    response = anonymous.get("")
    assert response.status_code == 200
    assert response.json() == {"version": response.headers["x-jupyterhub-version"]}
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", response.json()["version"])
    assert response.headers["access-control-allow-origin"] == "*"


def test_every_answer_carries_the_version_header(api, anonymous):
    version = anonymous.get("").json()["version"]
    answers = [api.get("users"), api.get("users/nobody-here"), anonymous.get("users"),
               api.delete("users"), api.get("no/such/endpoint"),
               api.post("users", content=b"{not json")]
    for response in answers:
        assert response.headers["x-jupyterhub-version"] == version, response.request.url


def test_api_answers_carry_the_api_content_security_policy(api):
    csp = api.get("users").headers["content-security-policy"]
    assert csp == ("frame-ancestors 'none'; report-uri /hub/security/csp-report; "
                   "default-src 'none'")


def test_health_needs_no_credentials(hub, anonymous):
    assert anonymous.get("health").status_code == 200
    assert httpx.get(f"{hub.url}hub/health").status_code == 200


def test_info_describes_the_hub_to_read_hub(api, anonymous):
    info = api.get("info")
    assert info.status_code == 200
    body = info.json()
    assert body["version"] == anonymous.get("").json()["version"]
    assert {"version", "python", "sys_executable", "spawner", "authenticator"} <= set(body)
    assert set(body["spawner"]) == {"class", "version"}
    assert set(body["authenticator"]) == {"class", "version"}


def test_info_without_credentials_is_403(anonymous):
    assert_error(anonymous.get("info"), 403, "Missing or invalid credentials.")


def test_info_without_read_hub_is_403(hub, api):
    user = new_user(api)
    with api_client(hub, new_token(api, user)) as client:
        assert_error(client.get("info"), 403,
                     "Action is not authorized with current scopes; requires any of [read:hub]")


def test_whoami_shows_the_user_the_token_and_its_scopes(hub, api):
    user = new_user(api)
    response = api.post(f"users/{user}/tokens", json={"scopes": ["read:users!user=" + user]})
    token = response.json()
    with api_client(hub, token["token"]) as client:
        me = client.get("user").json()
    assert me["kind"] == "user"
    assert me["name"] == user
    assert me["token_id"] == token["id"]
    assert me["session_id"] is None
    assert me["scopes"] == sorted(me["scopes"])
    assert f"read:users!user={user}" in me["scopes"]
    assert f"read:users:name!user={user}" in me["scopes"]
    assert "list:users" not in me["scopes"]


def test_whoami_with_the_login_cookie_names_no_token_and_no_session(hub, api):
    # session_id and token_id are the token's (JupyterHub): a login cookie has neither.
    name = new_user(api)
    with hub.client() as browser:
        assert browser.login(name).status_code == 302
        me = browser.get("hub/api/user").json()
    assert me["name"] == name
    assert me["token_id"] is None and me["session_id"] is None


def test_whoami_without_credentials_is_403(anonymous):
    assert_error(anonymous.get("user"), 403)


def test_an_unknown_token_is_no_credential(hub):
    with api_client(hub, "not-a-token-at-all") as client:
        assert_error(client.get("user"), 403)


def test_the_token_and_bearer_schemes_are_accepted_in_any_case(hub):
    for scheme in ("token", "bearer", "Bearer", "TOKEN"):
        response = httpx.get(f"{hub.url}hub/api/user",
                             headers={"Authorization": f"{scheme} {ADMIN_TOKEN}"})
        assert response.status_code == 200, scheme
        assert response.json()["name"] == "admin"


def test_a_token_in_the_url_is_not_a_credential(anonymous):
    # As JupyterHub: tokens only in the Authorization header (URLs end up in logs).
    assert_error(anonymous.get("user", params={"token": ADMIN_TOKEN}), 403)


def test_shutdown_refuses_what_is_not_a_json_object_of_booleans(api):
    assert_error(api.post("shutdown", json={"servers": "yes"}), 400)
    assert_error(api.post("shutdown", json={"proxy": 1}), 400)
    assert_error(api.post("shutdown", json=[True]), 400)
    assert_error(api.post("shutdown", json={"now": True}), 400)
    assert api.get("").status_code == 200  # still running


def test_shutdown_needs_the_shutdown_scope(hub, api):
    user = new_user(api)
    with api_client(hub, new_token(api, user)) as client:
        assert_error(client.post("shutdown"), 403, "requires any of [shutdown]")
    assert api.get("").status_code == 200


def test_shutdown_answers_202_and_the_hub_exits(tmp_path):
    with running_hub(tmp_path / "hub", HUB_SECTIONS) as hub, api_client(hub) as api:
        response = api.post("shutdown", json={"servers": True, "proxy": True})
        assert response.status_code == 202
        assert response.json() == {"message": "Shutting down Hub"}
        assert hub.process.wait(30) == 0
