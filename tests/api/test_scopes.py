"""The scope matrix: tokens with each default role and with filtered scopes, against each
endpoint family, answered as JupyterHub 6.1.1 answers (200, 403 for a missing scope, 404
for a scope held only for other resources); and user models filtered by scope."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import api_client, new_group, new_token, start_server, unique

#: Each endpoint family, once: (method, path, JSON body). alice is in group g and has a
#: running default server; bob is in no group.
ENDPOINTS = {
    "list users": ("GET", "users", None),
    "read alice": ("GET", "users/{alice}", None),
    "read bob": ("GET", "users/{bob}", None),
    "read alice's server": ("GET", "users/{alice}/server", None),
    "read bob's server": ("GET", "users/{bob}/server", None),
    "stop bob's named server": ("DELETE", "users/{bob}/servers/nothere", None),
    "list alice's tokens": ("GET", "users/{alice}/tokens", None),
    "list groups": ("GET", "groups", None),
    "read group g": ("GET", "groups/{g}", None),
    "list alice's shares": ("GET", "shares/{alice}", None),
    "alice's activity": ("POST", "users/{alice}/activity",
                         {"last_activity": "2026-01-01T00:00:00Z"}),
    "proxy": ("GET", "proxy", None),
    "info": ("GET", "info", None),
    "whoami": ("GET", "user", None),
}

#: Token -> expected status per endpoint, in ENDPOINTS order. Each row was checked
#: against a JupyterHub 6.1.1 hub.
MATRIX: dict[str, tuple[int, ...]] = {
    #    users a    b    a/srv b/srv stop tok  grps g    shr  act  prx  inf  me
    "role user (alice)":
        (403, 200, 404, 200, 404, 404, 200, 403, 403, 200, 200, 403, 403, 200),
    "role token (alice)":
        (403, 200, 404, 200, 404, 404, 200, 403, 403, 200, 200, 403, 403, 200),
    "role server (alice)":
        (403, 200, 404, 403, 403, 403, 403, 403, 403, 403, 200, 403, 403, 200),
    "role admin (admin)":
        (200, 200, 200, 200, 200, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    "read:users!user=alice":
        (403, 200, 404, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    "read:users!group=g":
        (403, 200, 404, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    "list:users!group=g":
        (200, 200, 404, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    "read:servers!server=alice/":
        (403, 404, 404, 200, 404, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    "access:servers!server=alice/":
        (403, 404, 404, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    "read:groups!group=g":
        (403, 404, 404, 403, 403, 403, 403, 403, 200, 403, 403, 403, 403, 200),
    "list:groups!group=g":
        (403, 404, 404, 403, 403, 403, 403, 200, 200, 403, 403, 403, 403, 200),
    "servers!user=alice":
        (403, 200, 404, 200, 404, 404, 403, 403, 403, 403, 403, 403, 403, 200),
    "no scopes":
        (403, 200, 404, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
}


@pytest.fixture(scope="module")
def world(hub, api) -> dict[str, Any]:
    """alice (in group g, default server running), bob, and a token for each MATRIX row."""
    alice, bob = unique("alice"), unique("bob")
    assert api.post("users", json={"usernames": [alice, bob]}).status_code == 201
    g = new_group(api, alice)
    start_server(api, alice)
    names = {"alice": alice, "bob": bob, "g": g}

    def scoped(scope: str) -> str:
        return new_token(api, "admin", scopes=[scope.format(**names)])

    tokens = {
        "role user (alice)": new_token(api, alice, roles=["user"]),
        "role token (alice)": new_token(api, alice, roles=["token"]),
        "role server (alice)": new_token(api, alice, roles=["server"]),
        "role admin (admin)": new_token(api, "admin", roles=["admin"]),
        "no scopes": new_token(api, alice, scopes=[]),
    }
    for row in MATRIX:
        if row not in tokens:
            scope = row.replace("=alice", "={alice}").replace("=g", "={g}")
            tokens[row] = scoped(scope)
    return {**names, "tokens": tokens}


@pytest.mark.parametrize("row", MATRIX)
def test_scope_matrix(hub, world, row):
    expected = dict(zip(ENDPOINTS, MATRIX[row], strict=True))
    with api_client(hub, world["tokens"][row]) as client:
        got = {}
        for endpoint, (method, path, body) in ENDPOINTS.items():
            response = client.request(method, path.format(**world), json=body)
            got[endpoint] = response.status_code
            if response.status_code >= 400:
                assert set(response.json()) == {"status", "message"}
    assert got == expected


def test_a_missing_scope_is_403_naming_the_scopes_needed(hub, world):
    with api_client(hub, world["tokens"]["role user (alice)"]) as client:
        response = client.get("users")
    assert response.json() == {
        "status": 403,
        "message": "Action is not authorized with current scopes; requires any of "
                   "[list:users]"}


def test_a_scope_for_other_resources_is_404_hiding_whether_they_exist(hub, world):
    with api_client(hub, world["tokens"]["role user (alice)"]) as client:
        for name in (world["bob"], "nobody-at-all"):
            assert client.get(f"users/{name}").json() == {
                "status": 404, "message": "No access to resources or resources not found"}


def test_a_filtered_list_shows_only_what_the_filter_covers(hub, world):
    with api_client(hub, world["tokens"]["list:users!group=g"]) as client:
        users = client.get("users").json()
    assert [u["name"] for u in users] == [world["alice"]]
    with api_client(hub, world["tokens"]["list:groups!group=g"]) as client:
        assert [g["name"] for g in client.get("groups").json()] == [world["g"]]


# -- models filtered by scope ------------------------------------------------------------


@pytest.mark.parametrize(("scope", "fields"), [
    ("read:users", {"kind", "name", "user_info", "admin", "roles", "groups", "server",
                    "pending", "created", "last_activity"}),
    ("read:users:name", {"kind", "name", "user_info", "admin"}),
    ("read:users:groups", {"kind", "name", "groups"}),
    ("read:users:activity", {"kind", "name", "last_activity"}),
    # read:servers implies read:users:name
    ("read:servers", {"kind", "name", "servers", "user_info", "admin"}),
    ("read:roles:users", {"kind", "name", "roles", "admin"}),
])
def test_user_model_fields_follow_the_scopes(hub, api, world, scope, fields):
    token = new_token(api, "admin", scopes=[f"{scope}!user={world['alice']}"])
    with api_client(hub, token) as client:
        model = client.get(f"users/{world['alice']}").json()
    assert set(model) == fields


def test_a_server_filter_shows_only_that_server_in_user_models(hub, api, world):
    alice = world["alice"]
    api.put(f"users/{alice}/servers/other")
    token = new_token(api, "admin", scopes=[f"read:servers!server={alice}/other",
                                            "list:users"])
    with api_client(hub, token) as client:
        [model] = [u for u in client.get("users", params={"include_stopped_servers": 1})
                   .json() if u["name"] == alice]
    assert list(model["servers"]) == ["other"]


def test_server_state_needs_admin_server_state(hub, api, world):
    alice = world["alice"]
    with api_client(hub, world["tokens"]["role user (alice)"]) as client:
        assert "state" not in client.get(f"users/{alice}/server").json()
    assert "state" in api.get(f"users/{alice}/server").json()


@pytest.mark.parametrize(("scope", "fields"), [
    ("read:groups", {"kind", "name", "users", "properties"}),
    ("read:groups:name", {"kind", "name"}),
    ("read:roles:groups", {"kind", "name", "roles"}),
])
def test_group_model_fields_follow_the_scopes(hub, api, world, scope, fields):
    token = new_token(api, "admin", scopes=[f"{scope}!group={world['g']}"])
    with api_client(hub, token) as client:
        assert set(client.get(f"groups/{world['g']}").json()) == fields


def test_a_token_with_a_filter_lists_the_scopes_it_expands_to(hub, world):
    with api_client(hub, world["tokens"]["read:users!user=alice"]) as client:
        scopes = client.get("user").json()["scopes"]
    alice = world["alice"]
    assert {f"read:users!user={alice}", f"read:users:name!user={alice}",
            f"read:users:groups!user={alice}", f"read:users:activity!user={alice}"} <= \
        set(scopes)


def test_a_server_filter_does_not_reach_the_users_model(hub, world):
    with api_client(hub, world["tokens"]["read:servers!server=alice/"]) as client:
        scopes = client.get("user").json()["scopes"]
    assert not [s for s in scopes if s.startswith("read:users") and "server=" in s]
    assert f"read:users:name!user={world['alice']}" not in scopes
