"""Sharing servers: shares with users and groups, what is shared with whom, leaving a
share, and share codes. Share lists are always paginated."""

from __future__ import annotations

from tests.api.helpers import api_client, assert_error, new_group, new_token, new_user

SHARE_KEYS = {"server", "scopes", "user", "group", "kind", "created_at"}


def test_granting_a_user_access_to_a_server(hub, api):
    owner, guest = new_user(api), new_user(api)
    response = api.post(f"shares/{owner}/", json={"user": guest})
    assert response.status_code == 200
    share = response.json()
    assert set(share) == SHARE_KEYS
    assert share["server"] == {"user": {"name": owner}, "name": "", "url": f"/user/{owner}/",
                               "full_url": None, "ready": False}
    assert share["scopes"] == [f"access:servers!server={owner}/"]
    assert share["user"] == {"name": guest} and share["group"] is None
    assert share["kind"] == "user"
    with api_client(hub, new_token(api, guest)) as client:
        assert f"access:servers!server={owner}/" in client.get("user").json()["scopes"]


def test_granting_a_group_gives_its_members_access(hub, api):
    owner, member = new_user(api), new_user(api)
    group = new_group(api, member)
    share = api.post(f"shares/{owner}/", json={"group": group}).json()
    assert share["group"] == {"name": group} and share["user"] is None
    assert share["kind"] == "group"
    with api_client(hub, new_token(api, member)) as client:
        assert f"access:servers!server={owner}/" in client.get("user").json()["scopes"]


def test_a_share_needs_exactly_one_existing_user_or_group(api):
    owner, guest = new_user(api), new_user(api)
    group = new_group(api)
    for body in ({}, {"user": guest, "group": group}, {"user": "nobody-at-all"},
                 {"group": "no-such-group"}, {"user": 5}, {"user": guest, "colour": 1},
                 {"user": guest, "scopes": "access:servers"},
                 {"user": guest, "scopes": ["no-such-scope"]},
                 {"user": guest, "scopes": [f"access:servers!server={guest}/"]}):
        assert_error(api.post(f"shares/{owner}/", json=body), 400)
    assert api.get(f"shares/{owner}").json()["items"] == []


def test_sharing_a_missing_named_server_is_404(api):
    owner, guest = new_user(api), new_user(api)
    assert_error(api.post(f"shares/{owner}/nothere", json={"user": guest}), 404)
    assert_error(api.post("shares/nobody-at-all/", json={"user": guest}), 404)


def test_share_lists_are_always_paginated(api):
    owner, first, second = new_user(api), new_user(api), new_user(api)
    api.post(f"shares/{owner}/", json={"user": first})
    api.post(f"shares/{owner}/", json={"user": second})
    everything = api.get(f"shares/{owner}").json()
    assert [s["user"]["name"] for s in everything["items"]] == [first, second]
    assert everything["_pagination"] == {"offset": 0, "limit": 200, "total": 2,
                                         "next": None}
    page = api.get(f"shares/{owner}/", params={"limit": 1}).json()
    assert [s["user"]["name"] for s in page["items"]] == [first]
    assert page["_pagination"]["next"]["offset"] == 1


def test_what_is_shared_with_a_user(api):
    owner, guest = new_user(api), new_user(api)
    api.post(f"shares/{owner}/", json={"user": guest})
    shared = api.get(f"users/{guest}/shared").json()
    assert [s["server"]["user"]["name"] for s in shared["items"]] == [owner]
    one = api.get(f"users/{guest}/shared/{owner}/")
    assert one.status_code == 200 and one.json()["user"] == {"name": guest}
    assert_error(api.get(f"users/{guest}/shared/{owner}/other"), 404)


def test_what_is_shared_with_a_group(api):
    owner = new_user(api)
    group = new_group(api)
    api.post(f"shares/{owner}/", json={"group": group})
    assert [s["group"]["name"] for s in api.get(f"groups/{group}/shared").json()["items"]] \
        == [group]
    assert api.get(f"groups/{group}/shared/{owner}/").json()["group"] == {"name": group}
    assert_error(api.get("groups/no-such-group/shared"), 404)


def test_a_user_leaves_a_share(hub, api):
    owner, guest = new_user(api), new_user(api)
    api.post(f"shares/{owner}/", json={"user": guest})
    with api_client(hub, new_token(api, guest)) as client:
        assert client.delete(f"users/{guest}/shared/{owner}/").status_code == 204
        assert f"access:servers!server={owner}/" not in client.get("user").json()["scopes"]
        assert_error(client.delete(f"users/{guest}/shared/{owner}/"), 404)


def test_revoking_some_scopes_keeps_the_rest(api):
    owner, guest = new_user(api), new_user(api)
    api.post(f"shares/{owner}/", json={"user": guest,
                                       "scopes": ["access:servers", "read:servers"]})
    left = api.patch(f"shares/{owner}/", json={"user": guest, "scopes": ["read:servers"]})
    assert left.status_code == 200
    assert left.json()["scopes"] == [f"access:servers!server={owner}/"]
    gone = api.patch(f"shares/{owner}/", json={"user": guest})
    assert gone.status_code == 200 and gone.json() == {}
    assert api.get(f"shares/{owner}").json()["items"] == []


def test_revoking_every_share_of_a_server(api):
    owner, guest = new_user(api), new_user(api)
    api.post(f"shares/{owner}/", json={"user": guest})
    api.post(f"shares/{owner}/", json={"group": new_group(api)})
    assert api.delete(f"shares/{owner}/").status_code == 204
    assert api.get(f"shares/{owner}").json()["items"] == []


def test_a_user_cannot_share_someone_elses_server(hub, api):
    owner, other = new_user(api), new_user(api)
    with api_client(hub, new_token(api, other)) as client:
        assert_error(client.post(f"shares/{owner}/", json={"user": other}), 403)
        assert_error(client.get(f"shares/{owner}"), 404)
    assert api.get(f"shares/{owner}").json()["items"] == []


def test_sharing_by_name_needs_the_right_to_read_the_name(hub, api):
    # As JupyterHub: a token that may only share cannot find out who exists.
    owner, guest = new_user(api), new_user(api)
    group = new_group(api)
    sharer = new_token(api, "admin", scopes=[f"shares!user={owner}"])
    with api_client(hub, sharer) as client:
        for kind, name in (("user", guest), ("user", "nobody-at-all"), ("group", group)):
            refused = client.post(f"shares/{owner}/", json={kind: name})
            assert_error(refused, 403)
            assert refused.json()["message"] == \
                f"Need scope 'read:{kind}s:name' to share with {kind}s by name"
    assert api.get(f"shares/{owner}").json()["items"] == []
    reader = new_token(api, "admin", scopes=[f"shares!user={owner}", "read:users:name"])
    with api_client(hub, reader) as client:
        assert client.post(f"shares/{owner}/", json={"user": guest}).status_code == 200


# -- share codes --------------------------------------------------------------------------


def test_issuing_a_share_code(api):
    owner = new_user(api)
    response = api.post(f"share-codes/{owner}/", json={"expires_in": 3600})
    assert response.status_code == 200
    code = response.json()
    assert code["id"].startswith("sc_")
    assert code["scopes"] == [f"access:servers!server={owner}/"]
    assert code["accept_url"] == f"/hub/accept-share?code={code['code']}"
    assert code["full_accept_url"] is None
    assert code["exchange_count"] == 0
    listed = api.get(f"share-codes/{owner}").json()["items"]
    assert [c["id"] for c in listed] == [code["id"]]
    assert "code" not in listed[0]


def test_share_code_lifetimes_are_bounded(api):
    owner = new_user(api)
    for expires_in in (59, 31_536_001, "day", None):
        assert_error(api.post(f"share-codes/{owner}/", json={"expires_in": expires_in}), 400)
    assert api.get(f"share-codes/{owner}/").json()["items"] == []


def test_revoking_share_codes_by_id_by_code_and_all(api):
    owner = new_user(api)
    first = api.post(f"share-codes/{owner}/").json()
    second = api.post(f"share-codes/{owner}/").json()
    third = api.post(f"share-codes/{owner}/").json()
    assert api.delete(f"share-codes/{owner}/", params={"id": first["id"]}).status_code == 204
    assert api.delete(f"share-codes/{owner}/",
                      params={"code": second["code"]}).status_code == 204
    assert [c["id"] for c in api.get(f"share-codes/{owner}/").json()["items"]] == \
        [third["id"]]
    assert api.delete(f"share-codes/{owner}/").status_code == 204
    assert api.get(f"share-codes/{owner}/").json()["items"] == []


def test_revoking_an_unknown_share_code_is_404(api):
    owner = new_user(api)
    for params in ({"id": "sc_999999"}, {"id": "nonsense"}, {"code": "nonsense"}):
        assert_error(api.delete(f"share-codes/{owner}/", params=params), 404)


def test_share_codes_of_a_user_are_listed_but_not_revoked_wholesale(api):
    owner = new_user(api)
    assert api.get(f"share-codes/{owner}").status_code == 200
    assert_error(api.delete(f"share-codes/{owner}"), 405)
