"""Nobody gives a scope they do not hold: not through the admin flag, not through roles,
not through groups, on POST or PATCH, one user or many, whoever calls.

The matrix below tries every way to change a user's admin flag, roles and groups, by
every kind of caller that holds the endpoint's scope but not what the change would
give: a user's token, a user's token with fewer scopes, a service, an admin's token
with only ``admin:users``, and a holder of ``groups``. Each attempt must be refused
and leave the target and the caller exactly as they were. The controls show the
rule is not "only admins": a caller who holds what a role gives may give it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kernel.testing.hub import HubProcess
from tests.api.helpers import ADMIN_TOKEN, api_client, new_group, new_token, new_user, unique

SERVICE_TOKEN = "usersvc-token-0123456789"

HUB_SECTIONS = {
    # admin_access: the admin role then holds `shares`, which the share test needs.
    "hub": {"allow_named_servers": "true", "admin_access": "true"},
    "hub.api_tokens": {ADMIN_TOKEN: "admin"},
    "auth": {"admin_users": "admin"},
    "service:usersvc": {"api_token": SERVICE_TOKEN},
    # Manages users, but holds none of the servers' scopes and is not an admin.
    "role:usermgr": {"scopes": "admin:users, list:users", "users": "eve",
                     "services": "usersvc"},
    # What the teaching assistants' group gives its members.
    "role:tarole": {"scopes": "admin:servers, list:users", "groups": "tas"},
    "role:reader": {"scopes": "read:users"},
    # Manages users and servers: may give tarole, not admin.
    "role:serverop": {"scopes": "admin:users, admin:servers, list:users", "users": "oscar"},
    # Changes any group's members.
    "role:grouper": {"scopes": "groups, list:users", "users": "gina"},
}

#: Each way to change rights: (method, path, body). {target} is an existing ordinary user,
#: {new} a name nobody has yet.
WAYS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "PATCH admin flag": ("PATCH", "users/{target}", {"admin": True}),
    "PATCH roles admin": ("PATCH", "users/{target}", {"roles": ["admin"]}),
    "PATCH roles tarole": ("PATCH", "users/{target}", {"roles": ["usermgr", "tarole"]}),
    "PATCH groups tas": ("PATCH", "users/{target}", {"groups": ["tas"]}),
    "POST admin flag": ("POST", "users/{new}", {"admin": True}),
    "POST roles admin": ("POST", "users/{new}", {"roles": ["admin"]}),
    "POST roles tarole": ("POST", "users/{new}", {"roles": ["tarole"]}),
    "POST groups tas": ("POST", "users/{new}", {"groups": ["tas"]}),
    "bulk POST admin": ("POST", "users", {"usernames": ["{new}"], "admin": True}),
    "group add member": ("POST", "groups/tas/users", {"users": ["{target}"]}),
}

#: Callers that may use (some of) these endpoints but hold neither the admin role's
#: scopes nor tarole's admin:servers, and whether they are also tried as the target: a
#: service is no user, and the admin user already holds everything.
CALLERS = {"eve": True, "eve with admin:users only": True, "service usersvc": False,
           "admin with admin:users only": False, "gina": True}
ATTEMPTS = [(caller, target) for caller, as_target in CALLERS.items()
            for target in ("another user", "the caller") if as_target or target != "the caller"]


@pytest.fixture(scope="module")
def tokens(api: httpx.Client) -> dict[str, str]:
    return {
        "eve": new_token(api, "eve"),
        "eve with admin:users only": new_token(api, "eve", scopes=["admin:users"]),
        "service usersvc": SERVICE_TOKEN,
        "admin with admin:users only": new_token(api, "admin",
                                                 scopes=["admin:users", "list:users"]),
        "gina": new_token(api, "gina"),
        "oscar": new_token(api, "oscar"),
    }


def _request(hub: HubProcess, token: str, way: tuple[str, str, dict[str, Any]],
             **names: str) -> httpx.Response:
    method, path, body = way
    filled = {key: [v.format(**names) for v in value] if isinstance(value, list)
              and all(isinstance(v, str) for v in value) else value
              for key, value in body.items()}
    with api_client(hub, token) as client:
        return client.request(method, path.format(**names), json=filled)


def _rights(api: httpx.Client, name: str) -> tuple[bool, list[str], list[str]] | None:
    """(admin, roles, groups) of a user, or None when there is no such user."""
    response = api.get(f"users/{name}")
    if response.status_code == 404:
        return None
    model = response.json()
    return model["admin"], sorted(model["roles"]), sorted(model["groups"])


def _scopes(hub: HubProcess, token: str) -> list[str]:
    with api_client(hub, token) as client:
        return sorted(client.get("user").json()["scopes"])


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(("caller", "target_kind"), ATTEMPTS)
def test_no_caller_gives_a_scope_it_does_not_hold(hub, api, tokens, caller, way, target_kind):
    token = tokens[caller]
    target = caller.split()[0] if target_kind == "the caller" else new_user(api, "target")
    new = unique("new")
    before = _rights(api, target), _scopes(hub, token)

    response = _request(hub, token, WAYS[way], target=target, new=new)

    assert response.status_code == 403, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    assert (_rights(api, target), _scopes(hub, token)) == before
    assert _rights(api, new) is None  # a refused creation leaves no user behind


@pytest.mark.parametrize("way", ["PATCH roles tarole", "PATCH groups tas", "POST roles tarole",
                                 "POST groups tas"])
def test_a_caller_who_holds_what_a_role_gives_may_give_it(hub, api, tokens, way):
    target, new = new_user(api, "target"), unique("new")
    response = _request(hub, tokens["oscar"], WAYS[way], target=target, new=new)
    assert response.status_code in (200, 201), response.text
    changed = _rights(api, target if way.startswith("PATCH") else new)
    assert changed is not None
    assert "tarole" in changed[1] or "tas" in changed[2]


def test_oscar_may_not_make_admins_all_the_same(hub, api, tokens):
    target = new_user(api, "target")
    response = _request(hub, tokens["oscar"], WAYS["PATCH roles admin"], target=target)
    assert response.status_code == 403
    assert "admin:groups" in response.json()["message"]  # names what oscar lacks


def test_a_role_within_the_callers_scopes_may_be_given(hub, api, tokens):
    target = new_user(api, "target")
    response = _request(hub, tokens["eve"], ("PATCH", "users/{target}",
                                             {"roles": ["reader"]}), target=target)
    assert response.status_code == 200, response.text
    assert "reader" in response.json()["roles"]


def test_a_group_that_gives_nothing_may_be_joined_by_a_group_manager(hub, api, tokens):
    target, group = new_user(api, "target"), new_group(api)
    response = _request(hub, tokens["gina"], ("POST", f"groups/{group}/users",
                                              {"users": ["{target}"]}), target=target)
    assert response.status_code == 200, response.text
    assert target in response.json()["users"]


def test_a_group_with_a_shared_server_gives_access_only_by_those_who_hold_it(
        hub, api, tokens):
    """A share with a group is a grant too: joining the group gives the share's access."""
    owner, group = new_user(api, "owner"), new_group(api)
    assert api.post(f"shares/{owner}/", json={"group": group}).status_code == 200
    target = new_user(api, "target")
    refused = _request(hub, tokens["gina"], ("POST", f"groups/{group}/users",
                                             {"users": ["{target}"]}), target=target)
    assert refused.status_code == 403, refused.text
    assert f"access:servers!server={owner}/" in refused.json()["message"]
    allowed = api.post(f"groups/{group}/users", json={"users": [target]})
    assert allowed.status_code == 200, allowed.text


def test_admins_still_make_admins(hub, api):
    target, new = new_user(api, "target"), unique("new")
    assert api.patch(f"users/{target}", json={"roles": ["admin"]}).json()["admin"] is True
    created = api.post(f"users/{new}", json={"admin": True, "groups": ["tas"]})
    assert created.status_code == 201, created.text
    assert (created.json()["admin"], created.json()["groups"]) == (True, ["tas"])
