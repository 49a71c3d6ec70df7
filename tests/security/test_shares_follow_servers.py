"""A share is a grant on one server, not on a name: it follows its server through a
rename and never passes to a new server that takes the old name. The same holds for
share codes and for tokens whose scopes name a server or a user.

The attack: bob was given alice's server; alice is renamed and a new ``alice``
arrives. Before the fix bob got into the new alice's server, because his share
said ``server=alice/``. JupyterHub 6.1.1 rewrites the share to the new name.
"""

from __future__ import annotations

from urllib.parse import urlencode

from kernel.testing.hub import HubProcess
from tests.api.helpers import api_client, new_token, new_user, start_server


def _scopes(hub: HubProcess, token: str) -> set[str]:
    with api_client(hub, token) as client:
        return set(client.get("user").json()["scopes"])


def _oauth_answer(hub: HubProcess, person: str, owner: str, server: str = "") -> int:
    """The status of the hub's OAuth answer when ``person``'s browser asks to enter
    ``owner``'s server, as the real single-user server sends it there."""
    client_id = f"jupyterhub-user-{owner}" + (f"-{server}" if server else "")
    prefix = f"/user/{owner}/" + (f"{server}/" if server else "")
    with hub.client() as browser:
        browser.login(person)
        query = urlencode({"client_id": client_id, "response_type": "code",
                           "redirect_uri": f"{prefix}oauth_callback"})
        return browser.get(f"hub/api/oauth2/authorize?{query}").status_code


def test_a_share_does_not_pass_to_the_next_user_of_a_renamed_name(hub, api):
    alice, bob = new_user(api, "alice"), new_user(api, "bob")
    assert api.post(f"shares/{alice}/", json={"user": bob}).status_code == 200
    bobs_token = new_token(api, bob)
    assert f"access:servers!server={alice}/" in _scopes(hub, bobs_token)

    assert api.patch(f"users/{alice}", json={"name": f"{alice}-old"}).status_code == 200
    assert api.post(f"users/{alice}").status_code == 201  # a new person takes the name
    start_server(api, alice)

    scopes = _scopes(hub, bobs_token)
    assert f"access:servers!server={alice}/" not in scopes
    assert f"access:servers!server={alice}-old/" in scopes
    assert _oauth_answer(hub, bob, alice) == 403
    shares = api.get(f"shares/{alice}-old/").json()["items"]
    assert [(s["user"]["name"], s["scopes"]) for s in shares] == [
        (bob, [f"access:servers!server={alice}-old/"])]
    assert api.get(f"shares/{alice}/").json()["items"] == []
    api.delete(f"users/{alice}/server")


def test_a_share_does_not_pass_to_a_new_server_with_a_renamed_server_s_name(hub, api):
    alice, bob = new_user(api, "alice"), new_user(api, "bob")
    assert api.post(f"users/{alice}/servers/proj").status_code in (201, 202)
    api.delete(f"users/{alice}/servers/proj")
    assert api.post(f"shares/{alice}/proj", json={"user": bob}).status_code == 200

    renamed = api.patch(f"users/{alice}/servers/proj", json={"name": "proj2"})
    assert renamed.status_code == 200, renamed.text
    start_server(api, alice, "proj")

    scopes = _scopes(hub, new_token(api, bob))
    assert f"access:servers!server={alice}/proj" not in scopes
    assert f"access:servers!server={alice}/proj2" in scopes
    assert _oauth_answer(hub, bob, alice, "proj") == 403
    api.delete(f"users/{alice}/servers/proj")


def test_a_share_code_issued_before_a_rename_grants_the_renamed_server(hub, api):
    alice, carol = new_user(api, "alice"), new_user(api, "carol")
    code = api.post(f"share-codes/{alice}/").json()["code"]
    api.patch(f"users/{alice}", json={"name": f"{alice}-old"})
    api.post(f"users/{alice}")

    listed = api.get(f"share-codes/{alice}-old/").json()["items"]
    assert [c["scopes"] for c in listed] == [[f"access:servers!server={alice}-old/"]]
    with hub.client() as browser:
        browser.login(carol)
        browser.get(f"hub/accept-share?code={code}")
        accepted = browser.post("hub/accept-share",
                                data={"code": code, "_xsrf": browser.xsrf(
                                    f"hub/accept-share?code={code}")})
        assert accepted.status_code in (200, 302, 303), accepted.text
    scopes = _scopes(hub, new_token(api, carol))
    assert f"access:servers!server={alice}-old/" in scopes
    assert f"access:servers!server={alice}/" not in scopes


def test_a_token_scoped_to_a_renamed_user_keeps_naming_that_user(hub, api):
    alice, ta = new_user(api, "alice"), new_user(api, "ta")
    api.patch(f"users/{ta}", json={"admin": True})  # so that ta holds what the token names
    token = new_token(api, ta, scopes=[f"read:users!user={alice}",
                                       f"access:servers!server={alice}/"])
    api.patch(f"users/{alice}", json={"name": f"{alice}-old"})
    api.post(f"users/{alice}")

    scopes = _scopes(hub, token)
    assert f"read:users!user={alice}-old" in scopes
    assert f"read:users!user={alice}" not in scopes
    with api_client(hub, token) as client:
        assert client.get(f"users/{alice}-old").status_code == 200
        assert client.get(f"users/{alice}").status_code in (403, 404)
