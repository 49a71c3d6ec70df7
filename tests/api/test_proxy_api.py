"""The proxy's routing table through the hub's API: read it, re-sync it, point at a proxy."""

from __future__ import annotations

from tests.api.helpers import (
    PAGINATION,
    api_client,
    assert_error,
    new_token,
    new_user,
    start_server,
)


def test_the_routing_table_has_the_hub_and_running_servers(api):
    name = new_user(api)
    start_server(api, name)
    routes = api.get("proxy").json()
    assert routes["/"]["data"]["hub"] is True
    route = routes[f"/user/{name}/"]
    assert route["routespec"] == f"/user/{name}/"
    assert route["target"].startswith("http://127.0.0.1:")
    assert route["data"]["user"] == name
    assert route["data"]["server_name"] == ""
    assert "last_activity" in route["data"]
    api.delete(f"users/{name}/server")
    assert f"/user/{name}/" not in api.get("proxy").json()


def test_the_routing_table_paginates_as_a_dict(api):
    page = api.get("proxy", params={"limit": 1}, headers=PAGINATION).json()
    assert isinstance(page["items"], dict) and len(page["items"]) == 1
    assert page["_pagination"]["limit"] == 1
    assert page["_pagination"]["total"] >= 1


def test_posting_re_syncs_the_proxy(api):
    name = new_user(api)
    start_server(api, name)
    assert api.post("proxy").status_code == 200
    assert f"/user/{name}/" in api.get("proxy").json()
    api.delete(f"users/{name}/server")


def test_patching_with_nothing_new_re_syncs(api):
    assert api.patch("proxy", json={}).status_code == 200
    assert "/" in api.get("proxy").json()


def test_patching_with_a_bad_body_is_400(api):
    for body in (None, [1], {"auth_token": 5}, {"api_url": 5}, {"colour": "red"}):
        assert_error(api.patch("proxy", json=body), 400)
    assert "/" in api.get("proxy").json()


def test_the_proxy_endpoints_need_the_proxy_scope(hub, api):
    name = new_user(api)
    with api_client(hub, new_token(api, name)) as client:
        for method in ("GET", "POST", "PATCH"):
            assert_error(client.request(method, "proxy", json={}), 403,
                         "requires any of [proxy]")
