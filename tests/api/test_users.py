"""Users: listing (filters, sorting, JupyterHub's pagination), creating, reading, changing
and deleting them, and what becomes of a deleted user's tokens."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.api.helpers import (
    PAGINATION,
    api_client,
    assert_error,
    new_group,
    new_token,
    new_user,
    start_server,
    unique,
)

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
USER_KEYS = {"kind", "name", "admin", "roles", "groups", "server", "pending", "created",
             "last_activity", "servers", "user_info", "auth_state"}


@pytest.fixture(scope="module")
def crowd(api):
    """A prefix, and 210 users whose names start with it (more than a page can hold)."""
    prefix = unique("crowd")
    names = [f"{prefix}-{i:03d}" for i in range(210)]
    assert api.post("users", json={"usernames": names}).status_code == 201
    return prefix, names


# -- reading ----------------------------------------------------------------------------


def test_a_user_model_has_jupyterhubs_fields(api):
    name = new_user(api)
    model = api.get(f"users/{name}").json()
    assert set(model) == USER_KEYS
    assert model["kind"] == "user"
    assert model["name"] == name
    assert model["admin"] is False
    assert model["roles"] == ["user"]
    assert model["groups"] == []
    assert model["server"] is None
    assert model["pending"] is None
    assert TIMESTAMP.fullmatch(model["created"])
    assert model["last_activity"] is None
    assert model["servers"] == {}


def test_an_unknown_user_is_404(api):
    assert_error(api.get("users/nobody-at-all"), 404)


def test_a_user_lists_their_groups(api):
    name = new_user(api)
    group = new_group(api, name)
    assert api.get(f"users/{name}").json()["groups"] == [group]


def test_the_user_model_shows_a_running_server(api):
    name = new_user(api)
    start_server(api, name)
    model = api.get(f"users/{name}").json()
    assert model["server"] == f"/user/{name}/"
    assert model["servers"][""]["ready"] is True
    assert TIMESTAMP.fullmatch(model["last_activity"] or model["servers"][""]["started"])
    assert api.delete(f"users/{name}/server").status_code == 204


def test_stopped_servers_appear_only_when_asked_for(api):
    name = new_user(api)
    assert api.put(f"users/{name}/servers/later").status_code == 201
    assert api.get(f"users/{name}").json()["servers"] == {}
    for flag in ("", "1", "true", "yes"):
        servers = api.get(f"users/{name}", params={"include_stopped_servers": flag}).json()
        assert servers["servers"]["later"]["stopped"] is True, flag
    for flag in ("0", "false", "False"):
        servers = api.get(f"users/{name}", params={"include_stopped_servers": flag}).json()
        assert servers["servers"] == {}, flag


# -- listing ------------------------------------------------------------------------------


def test_the_list_is_a_bare_list_of_up_to_200_without_the_pagination_header(api, crowd):
    prefix, names = crowd
    response = api.get("users", params={"name_filter": prefix})
    assert response.status_code == 200
    assert [u["name"] for u in response.json()] == names[:200]  # api_page_max_limit


def test_the_paginated_list_has_items_and_pagination(api, crowd):
    prefix, names = crowd
    page = api.get("users", params={"name_filter": prefix}, headers=PAGINATION).json()
    assert set(page) == {"items", "_pagination"}
    assert [u["name"] for u in page["items"]] == names[:50]  # api_page_default_limit
    pagination = page["_pagination"]
    assert (pagination["offset"], pagination["limit"], pagination["total"]) == (0, 50, 210)
    assert pagination["next"]["offset"] == 50
    assert pagination["next"]["limit"] == 50


def test_the_next_url_is_the_request_with_the_next_offset(api, crowd):
    prefix, names = crowd
    page = api.get("users", params={"name_filter": prefix, "limit": 7, "offset": 7},
                   headers=PAGINATION).json()
    assert [u["name"] for u in page["items"]] == names[7:14]
    following = page["_pagination"]["next"]
    assert (following["offset"], following["limit"]) == (14, 7)
    url = urlsplit(following["url"])
    assert url.path == "/hub/api/users"
    assert parse_qs(url.query) == {"name_filter": [prefix], "limit": ["7"], "offset": ["14"]}
    assert api.get(following["url"], headers=PAGINATION).json()["items"][0]["name"] == \
        names[14]


def test_the_last_page_has_no_next(api, crowd):
    prefix, _ = crowd
    page = api.get("users", params={"name_filter": prefix, "offset": 205},
                   headers=PAGINATION).json()
    assert len(page["items"]) == 5
    assert page["_pagination"]["next"] is None
    beyond = api.get("users", params={"name_filter": prefix, "offset": 500},
                     headers=PAGINATION).json()
    assert beyond == {"items": [], "_pagination": {"offset": 500, "limit": 50, "total": 210,
                                                   "next": None}}


def test_limits_are_capped_and_taken_as_whole_numbers_as_jupyterhub_does(api, crowd):
    prefix, _ = crowd

    def pagination(**params):
        return api.get("users", params={"name_filter": prefix, **params},
                       headers=PAGINATION).json()["_pagination"]

    assert pagination(limit=1000)["limit"] == 200
    assert pagination(limit=0)["limit"] == 1
    assert pagination(limit=-3)["limit"] == 3  # abs(), as JupyterHub
    assert pagination(offset=-2)["offset"] == 2
    for bad in ("x", "1.5", ""):
        assert_error(api.get("users", params={"limit": bad}), 400, "must be integers")
        assert_error(api.get("users", params={"offset": bad}), 400, "must be integers")


def test_name_filter_is_a_case_insensitive_substring(api):
    stem = unique("Filter")
    names = [f"{stem}-a", f"{stem}-B"]
    api.post("users", json={"usernames": names})
    found = api.get("users", params={"name_filter": stem.upper()}).json()
    assert sorted(u["name"] for u in found) == sorted(n.lower() for n in names)


def test_users_sort_by_name_either_way(api):
    stem = unique("sort")
    names = [f"{stem}-b", f"{stem}-c", f"{stem}-a"]
    api.post("users", json={"usernames": names})
    ascending = api.get("users", params={"name_filter": stem, "sort": "name"}).json()
    descending = api.get("users", params={"name_filter": stem, "sort": "-name"}).json()
    by_id = api.get("users", params={"name_filter": stem}).json()
    assert [u["name"] for u in ascending] == sorted(names)
    assert [u["name"] for u in descending] == sorted(names, reverse=True)
    assert [u["name"] for u in by_id] == names


def test_an_unknown_sort_key_is_400(api):
    assert_error(api.get("users", params={"sort": "created"}), 400, "sort")


def test_an_unknown_state_is_400(api):
    assert_error(api.get("users", params={"state": "sleeping"}), 400,
                 "Unrecognized state filter")


def test_state_filters_users_by_their_servers(api):
    stem = unique("state")
    running, idle = f"{stem}-running", f"{stem}-idle"
    api.post("users", json={"usernames": [running, idle]})
    start_server(api, running)
    try:
        for state, expected in (("ready", [running]), ("active", [running]),
                                ("inactive", [idle])):
            found = api.get("users", params={"state": state, "name_filter": stem}).json()
            assert [u["name"] for u in found] == expected, state
    finally:
        api.delete(f"users/{running}/server")


# -- creating -------------------------------------------------------------------------------


def test_creating_users_answers_201_with_their_models(api):
    names = [unique("new"), unique("new")]
    response = api.post("users", json={"usernames": names})
    assert response.status_code == 201
    assert [u["name"] for u in response.json()] == names
    assert all(set(u) == USER_KEYS for u in response.json())


def test_existing_names_are_skipped_and_all_existing_is_409(api):
    old, new = new_user(api), unique("new")
    created = api.post("users", json={"usernames": [old, new]})
    assert [u["name"] for u in created.json()] == [new]
    assert_error(api.post("users", json={"usernames": [old, new]}), 409,
                 "All 2 users already exist")


def test_creating_admins_through_the_api(api):
    name = unique("boss")
    response = api.post("users", json={"usernames": [name], "admin": True})
    assert response.json()[0]["admin"] is True
    assert "admin" in api.get(f"users/{name}").json()["roles"]


def test_creating_one_user_by_name(api):
    name = unique("one")
    response = api.post(f"users/{name}")
    assert response.status_code == 201
    assert response.json()["name"] == name
    assert_error(api.post(f"users/{name}"), 409, f"User {name} already exists")


def test_a_user_name_fits_in_a_file_name(api):
    # 255 bytes of UTF-8, Linux's longest file name, so a home folder can bear any user's
    # name: 128 accented letters (256 bytes) made a user whose server failed with a 500.
    longest, too_long = "é" * 127, "é" * 128
    assert_error(api.post(f"users/{too_long}"), 400,
                 "the user name is longer than 255 bytes (in UTF-8)")
    assert api.post(f"users/{longest}").status_code == 201
    start_server(api, longest)


def test_a_user_made_with_groups_is_in_them(api):
    group = new_group(api)
    name = unique("grouped")
    assert api.post(f"users/{name}", json={"groups": [group]}).json()["groups"] == [group]


# -- changing ---------------------------------------------------------------------------------


def test_renaming_a_user(api):
    old, new = new_user(api), unique("renamed")
    response = api.patch(f"users/{old}", json={"name": new})
    assert response.status_code == 200
    assert response.json()["name"] == new
    assert_error(api.get(f"users/{old}"), 404)
    assert api.get(f"users/{new}").status_code == 200


def test_renaming_onto_a_taken_name_is_400(api):
    first, second = new_user(api), new_user(api)
    assert_error(api.patch(f"users/{first}", json={"name": second}), 400, "already exists")
    assert api.get(f"users/{first}").status_code == 200


def test_promoting_and_demoting_an_admin(api):
    name = new_user(api)
    assert api.patch(f"users/{name}", json={"admin": True}).json()["admin"] is True
    assert api.patch(f"users/{name}", json={"admin": False}).json()["admin"] is False


def test_an_empty_change_changes_nothing(api):
    name = new_user(api)
    response = api.patch(f"users/{name}", json={})
    assert response.status_code == 200
    assert response.json()["name"] == name


def test_changing_an_unknown_user_is_404(api):
    assert_error(api.patch("users/nobody-at-all", json={"admin": True}), 404)


def test_a_user_cannot_make_themselves_admin(hub, api):
    name = new_user(api)
    with api_client(hub, new_token(api, name)) as client:
        assert_error(client.patch(f"users/{name}", json={"admin": True}), 403)
    assert api.get(f"users/{name}").json()["admin"] is False


# -- deleting ---------------------------------------------------------------------------------


def test_deleting_a_user(api):
    name = new_user(api)
    assert api.delete(f"users/{name}").status_code == 204
    assert_error(api.get(f"users/{name}"), 404)
    assert_error(api.delete(f"users/{name}"), 404)


def test_deleting_a_user_stops_their_server(api):
    name = new_user(api)
    start_server(api, name)
    route = f"/user/{name}/"
    assert route in api.get("proxy").json()
    assert api.delete(f"users/{name}").status_code == 204
    assert route not in api.get("proxy").json()


def test_nobody_deletes_themselves(api):
    assert_error(api.delete("users/admin"), 400, "Cannot delete yourself")


def test_a_deleted_users_tokens_stop_working_at_once(hub, api):
    name = new_user(api)
    with api_client(hub, new_token(api, name)) as client:
        assert client.get("user").status_code == 200
        assert api.delete(f"users/{name}").status_code == 204
        assert_error(client.get("user"), 403)
    # A new user of the same name does not get the old tokens back.
    new_user_again = api.post(f"users/{name}")
    assert new_user_again.status_code == 201
    assert api.get(f"users/{name}/tokens").json() == {"api_tokens": []}


def test_a_user_may_not_delete_another(hub, api):
    name, other = new_user(api), new_user(api)
    with api_client(hub, new_token(api, name)) as client:
        assert_error(client.delete(f"users/{other}"), 403, "requires any of [delete:users]")
    assert api.get(f"users/{other}").status_code == 200
