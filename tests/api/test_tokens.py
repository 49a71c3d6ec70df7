"""API tokens: issuing them (scopes, roles, notes, expiry), listing, reading and revoking
them, and what a token may do as its owner's rights change."""

from __future__ import annotations

import time

import httpx

from tests.api.helpers import (
    ADMIN_TOKEN,
    api_client,
    assert_error,
    new_token,
    new_user,
    wait_until,
)
from tests.api.test_users import TIMESTAMP

TOKEN_KEYS = {"id", "kind", "user", "roles", "scopes", "note", "created", "last_activity",
              "expires_at", "session_id", "oauth_client"}


def test_a_new_token_is_shown_once_with_its_model(api):
    name = new_user(api)
    response = api.post(f"users/{name}/tokens", json={
        "note": "for the tests", "expires_in": 3600, "scopes": [f"read:users!user={name}"]})
    assert response.status_code == 201
    token = response.json()
    assert set(token) == TOKEN_KEYS | {"token"}
    assert token["id"].startswith("a") and token["kind"] == "api_token"
    assert token["user"] == name
    assert token["roles"] == []
    assert token["note"] == "for the tests"
    assert token["scopes"] == sorted([f"read:users!user={name}",
                                      f"read:users:activity!user={name}",
                                      f"read:users:groups!user={name}",
                                      f"read:users:name!user={name}"])
    assert TIMESTAMP.fullmatch(token["created"])
    assert TIMESTAMP.fullmatch(token["expires_at"])
    assert token["last_activity"] is None
    assert token["session_id"] is None
    assert token["oauth_client"] == "JupyterHub"
    listed = api.get(f"users/{name}/tokens").json()["api_tokens"]
    assert [{k: v for k, v in t.items()} for t in listed] == [
        {k: v for k, v in token.items() if k != "token"}]


def test_a_token_without_scopes_has_all_its_owners_permissions(hub, api):
    name = new_user(api)
    token = api.post(f"users/{name}/tokens", json={}).json()
    assert f"servers!user={name}" in token["scopes"]
    assert f"tokens!user={name}" in token["scopes"]
    with api_client(hub, token["token"]) as client:
        assert client.get(f"users/{name}/tokens").status_code == 200


def test_the_default_note_says_who_asked(hub, api):
    name = new_user(api)
    by_admin = api.post(f"users/{name}/tokens", json={}).json()
    assert by_admin["note"] == "Requested via api by user admin"
    with api_client(hub, by_admin["token"]) as client:
        own = client.post(f"users/{name}/tokens", json={}).json()
    assert own["note"] == "Requested via api"


def test_roles_give_their_scopes(api):
    name = new_user(api)
    token = api.post(f"users/{name}/tokens", json={"roles": ["user"]}).json()
    assert f"access:servers!user={name}" in token["scopes"]
    assert_error(api.post(f"users/{name}/tokens", json={"roles": ["no-such-role"]}), 400)


def test_scopes_and_roles_together_are_400(api):
    name = new_user(api)
    assert_error(api.post(f"users/{name}/tokens", json={"roles": ["user"],
                                                        "scopes": ["self"]}), 400)


def test_a_token_cannot_hold_more_than_its_owner(api):
    name, other = new_user(api), new_user(api)
    for scope in ("admin:users", f"read:users!user={other}", "proxy"):
        assert_error(api.post(f"users/{name}/tokens", json={"scopes": [scope]}), 400,
                     "Not assigning requested scopes")
    assert api.get(f"users/{name}/tokens").json()["api_tokens"] == []


def test_bad_token_requests_are_400_and_issue_nothing(api):
    name = new_user(api)
    for body in ({"scopes": ["no:such-scope"]}, {"scopes": ["read:users!colour=red"]},
                 {"scopes": "read:users"}, {"scopes": [5]}, {"expires_in": "soon"},
                 {"expires_in": -1}, {"expires_in": True}, {"note": 5}, {"colour": "red"},
                 # JupyterHub 6.1.1 takes whole seconds, at least one; 0 was a token
                 # that never expired, 0.5 one that expired before its first use.
                 {"expires_in": 0}, {"expires_in": 0.5}, {"expires_in": 3600.0},
                 [1]):
        assert_error(api.post(f"users/{name}/tokens", json=body), 400)
    assert api.get(f"users/{name}/tokens").json()["api_tokens"] == []


def test_a_user_cannot_issue_tokens_for_another(hub, api):
    name, other = new_user(api), new_user(api)
    with api_client(hub, new_token(api, name)) as client:
        for target in (other, "nobody-at-all"):
            assert_error(client.post(f"users/{target}/tokens", json={}), 403,
                         f"User {target} not found or no permissions to generate tokens")
    assert api.get(f"users/{other}/tokens").json()["api_tokens"] == []


def test_a_token_can_be_had_with_username_and_password(hub, api):
    name = new_user(api)
    response = httpx.post(f"{hub.url}hub/api/users/{name}/tokens", json={
        "auth": {"username": name, "password": "test-password"}})
    assert response.status_code == 201
    assert response.json()["user"] == name
    wrong = httpx.post(f"{hub.url}hub/api/users/{name}/tokens", json={
        "auth": {"username": name, "password": "wrong"}})
    assert_error(wrong, 403)


def test_reading_one_token(api):
    name = new_user(api)
    token = api.post(f"users/{name}/tokens", json={"note": "one"}).json()
    response = api.get(f"users/{name}/tokens/{token['id']}")
    assert response.status_code == 200
    assert response.json()["note"] == "one"


def test_a_token_of_someone_else_or_no_token_is_404(api):
    name, other = new_user(api), new_user(api)
    token = api.post(f"users/{other}/tokens", json={}).json()
    for token_id in (token["id"], "a999999", "x1", "1", "a"):
        assert_error(api.get(f"users/{name}/tokens/{token_id}"), 404)
        assert_error(api.delete(f"users/{name}/tokens/{token_id}"), 404)
    assert_error(api.get("users/nobody-at-all/tokens"), 404)


def test_a_revoked_token_stops_working_at_once(hub, api):
    name = new_user(api)
    token = api.post(f"users/{name}/tokens", json={}).json()
    with api_client(hub, token["token"]) as client:
        assert client.get("user").status_code == 200
        assert api.delete(f"users/{name}/tokens/{token['id']}").status_code == 204
        assert_error(client.get("user"), 403)
    assert_error(api.get(f"users/{name}/tokens/{token['id']}"), 404)


def test_an_expired_token_stops_working_and_is_no_longer_listed(hub, api):
    name = new_user(api)
    token = api.post(f"users/{name}/tokens", json={"expires_in": 1}).json()
    with api_client(hub, token["token"]) as client:
        assert client.get("user").status_code == 200
        wait_until(lambda: client.get("user").status_code == 403, timeout=5)
    assert api.get(f"users/{name}/tokens").json()["api_tokens"] == []
    assert_error(api.get(f"users/{name}/tokens/{token['id']}"), 404)


def test_using_a_token_records_its_and_its_owners_activity(hub, api):
    name = new_user(api)
    token = api.post(f"users/{name}/tokens", json={}).json()
    before = time.time()
    with api_client(hub, token["token"]) as client:
        client.get("user")
    used = api.get(f"users/{name}/tokens/{token['id']}").json()
    assert TIMESTAMP.fullmatch(used["last_activity"])
    assert TIMESTAMP.fullmatch(api.get(f"users/{name}").json()["last_activity"])
    assert time.time() - before < 30


def test_demoting_an_admin_takes_their_tokens_rights_at_once(hub, api):
    name = new_user(api, admin=True)
    with api_client(hub, new_token(api, name)) as client:
        assert client.get("users").status_code == 200
        assert api.patch(f"users/{name}", json={"admin": False}).status_code == 200
        assert_error(client.get("users"), 403)
        assert api.patch(f"users/{name}", json={"admin": True}).status_code == 200
        assert client.get("users").status_code == 200


def test_the_admin_token_from_hub_ini_is_listed_as_the_admins(api):
    tokens = api.get("users/admin/tokens").json()["api_tokens"]
    assert len(tokens) >= 1
    assert all(t["user"] == "admin" for t in tokens)
    assert ADMIN_TOKEN not in str(tokens)
