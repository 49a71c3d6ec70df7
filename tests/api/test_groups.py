"""Groups: listing, creating (one or several), reading, deleting; members and properties."""

from __future__ import annotations

from tests.api.helpers import PAGINATION, assert_error, new_group, new_user, unique

GROUP_KEYS = {"kind", "name", "users", "properties", "roles"}


def test_a_group_model_has_jupyterhubs_fields(api):
    member = new_user(api)
    name = new_group(api, member)
    model = api.get(f"groups/{name}").json()
    assert model == {"kind": "group", "name": name, "users": [member], "properties": {},
                     "roles": []}


def test_creating_several_groups(api):
    member = new_user(api)
    names = [unique("team"), unique("team")]
    response = api.post("groups", json={"groups": names, "users": [member]})
    assert response.status_code == 201
    assert [g["name"] for g in response.json()] == names
    assert all(g["users"] == [member] and set(g) == GROUP_KEYS for g in response.json())


def test_creating_an_existing_group_is_409_and_creates_nothing(api):
    existing, fresh = new_group(api), unique("fresh")
    assert_error(api.post("groups", json={"groups": [fresh, existing]}), 409,
                 f"Group {existing} already exists")
    assert_error(api.get(f"groups/{fresh}"), 404)
    assert_error(api.post(f"groups/{existing}"), 409)


def test_bad_group_requests_are_400_and_create_nothing(api):
    name = unique("never")
    for body in ({"groups": []}, {"groups": name}, {"groups": [5]},
                 {"groups": [name], "users": ["nobody-at-all"]},
                 {"groups": [name], "users": "someone"}, {"groups": [name], "colour": 1},
                 {"groups": ["a/b"]}, None):
        assert_error(api.post("groups", json=body), 400)
    assert_error(api.get(f"groups/{name}"), 404)


def test_listing_groups_in_creation_order(api):
    names = [new_group(api), new_group(api)]
    listed = [g["name"] for g in api.get("groups").json()]
    assert listed[-2:] == names


def test_the_group_list_paginates(api):
    new_group(api)
    new_group(api)
    page = api.get("groups", params={"limit": 1}, headers=PAGINATION).json()
    assert len(page["items"]) == 1
    assert page["_pagination"]["limit"] == 1
    assert page["_pagination"]["total"] >= 2
    assert page["_pagination"]["next"]["offset"] == 1


def test_adding_and_removing_members(api):
    first, second = new_user(api), new_user(api)
    name = new_group(api, first)
    added = api.post(f"groups/{name}/users", json={"users": [second]})
    assert added.status_code == 200
    assert added.json()["users"] == sorted([first, second])
    assert api.get(f"users/{second}").json()["groups"] == [name]
    removed = api.request("DELETE", f"groups/{name}/users", json={"users": [first]})
    assert removed.status_code == 200
    assert removed.json()["users"] == [second]
    assert api.get(f"users/{first}").json()["groups"] == []


def test_members_must_be_existing_users(api):
    name = new_group(api)
    for body in ({"users": ["nobody-at-all"]}, {}, {"users": "someone"}, None):
        assert_error(api.post(f"groups/{name}/users", json=body), 400)
    assert api.get(f"groups/{name}").json()["users"] == []
    assert_error(api.post("groups/no-such-group/users", json={"users": []}), 404)


def test_properties_are_replaced_whole(api):
    name = new_group(api)
    assert api.put(f"groups/{name}/properties", json={"a": 1, "b": [2]}).json()[
        "properties"] == {"a": 1, "b": [2]}
    assert api.put(f"groups/{name}/properties", json={"c": None}).json()[
        "properties"] == {"c": None}
    for body in ([1], "text", None):
        assert_error(api.put(f"groups/{name}/properties", json=body), 400)
    assert api.get(f"groups/{name}").json()["properties"] == {"c": None}


def test_deleting_a_group(api):
    member = new_user(api)
    name = new_group(api, member)
    assert api.delete(f"groups/{name}").status_code == 204
    assert_error(api.get(f"groups/{name}"), 404)
    assert_error(api.delete(f"groups/{name}"), 404)
    assert api.get(f"users/{member}").json()["groups"] == []
