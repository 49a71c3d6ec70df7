"""A token's rights are its own, even when it takes the id of a token revoked before it.

The database gives a deleted row's id to the next row made (SQLite reuses the
highest rowid; MySQL may after a restart): a server's token revoked when the
server stops, a token its owner revoked, a deleted service's token. Nothing the
hub remembers about the old token may pass to the new one: not the scopes it
computed (which belonged to another owner), not the token itself.
"""

from __future__ import annotations

import asyncio

from kernel.testing.hub import HubProcess, hub_app
from tests.api.helpers import api_client, new_token, new_user, unique


def test_a_servers_token_does_not_inherit_the_scopes_of_the_one_revoked_before_it(tmp_path):
    """The issue's sequence without processes: bob's server stops (its token is revoked),
    then alice's starts and its token gets the same id."""
    hub = hub_app(tmp_path).state.hub
    server_scopes = hub.permissions.roles.roles["server"].scopes

    async def scenario() -> None:
        alice, bob = await hub.users.add("alice"), await hub.users.add("bob")
        bobs, alices = await hub.users.server(bob), await hub.users.server(alice)
        token, row = await hub.tokens.issue(user_id=bob.id, server_id=bobs.id,
                                            scopes=server_scopes)
        bob_scopes = hub.permissions.token_scopes(await hub.tokens.find(token), bob)
        assert bob_scopes.allows("users:activity", user="bob")
        await hub.tokens.revoke_where(server_id=bobs.id)
        token, reused = await hub.tokens.issue(user_id=alice.id, server_id=alices.id,
                                               scopes=server_scopes)
        assert reused.id == row.id  # the case at hand: the database reused the id
        scopes = hub.permissions.token_scopes(await hub.tokens.find(token), alice)
        assert scopes.allows("users:activity", user="alice")
        assert scopes.allows("access:servers", user="alice", server="alice/")
        assert not scopes.allows("users:activity", user="bob")
        assert not scopes.allows("access:servers", user="bob", server="bob/")

    try:
        asyncio.run(scenario())
    finally:
        hub.db.close()


def test_a_token_made_after_an_admins_token_was_revoked_holds_only_its_owners_rights(
        hub: HubProcess, api):
    alice, bob = new_user(api, "alice"), new_user(api, "bob")
    made = api.post("users/admin/tokens", json={"note": "revoked soon"}).json()
    with api_client(hub, made["token"]) as admin:
        assert admin.get("users").status_code == 200
    assert api.delete(f"users/admin/tokens/{made['id']}").status_code == 204
    with api_client(hub, new_token(api, alice)) as client:
        me = client.get("user").json()
        assert me["token_id"] == made["id"]  # the revoked token's id, reused
        assert all(scope.endswith(f"!user={alice}") or "!" not in scope
                   for scope in me["scopes"]), me["scopes"]
        assert "admin:users" not in me["scopes"]
        assert client.get("users").status_code == 403
        assert client.get(f"users/{bob}").status_code == 404


def test_a_deleted_services_token_does_not_become_the_next_services(hub: HubProcess, api):
    first, second = unique("one"), unique("two")
    token = f"token-of-{first}-0123456789"
    assert api.post(f"services/{first}", json={"api_token": token}).status_code == 201
    with api_client(hub, token) as client:
        assert client.get("user").json()["name"] == first
        assert api.delete(f"services/{first}").status_code == 200
        assert client.get("user").status_code == 403
        made = api.post(f"services/{second}", json={"admin": True,
                                                    "api_token": f"token-of-{second}-01234"})
        assert made.status_code == 201, made.text
        assert client.get("user").status_code == 403
        assert client.get("users").status_code == 403

