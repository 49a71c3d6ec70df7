"""Malformed requests: each a clear 4xx with a JSON ``{status, message}``, never a 500,
and nothing written.

Malformed JSON, wrong field types, unknown fields, invalid user, server and group
names (path tricks, control characters, 10 kB names), bodies that are not JSON.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_error, new_group, new_user, unique

BAD_JSON = [b"{not json", b"[1, 2", b"\xff\xfe{}", b"{'single': 'quotes'}", b"NaN-ish",
            b"[" * 100_000 + b"]" * 100_000]


@pytest.fixture(scope="module")
def alice(api) -> str:
    return new_user(api, "alice")


@pytest.mark.parametrize("body", BAD_JSON, ids=lambda b: repr(b[:12]))
def test_malformed_json_is_400_and_creates_no_user(api, body):
    name = unique("never")
    assert_error(api.post(f"users/{name}", content=body,
                          headers={"Content-Type": "application/json"}), 400,
                 "Invalid JSON in body of request")
    assert_error(api.get(f"users/{name}"), 404)


@pytest.mark.parametrize("body", BAD_JSON[:3], ids=lambda b: repr(b[:12]))
def test_malformed_json_is_400_everywhere(api, alice, body):
    headers = {"Content-Type": "application/json"}
    for method, path in (("POST", "users"), ("PATCH", f"users/{alice}"),
                         ("POST", f"users/{alice}/tokens"), ("POST", "groups"),
                         ("POST", f"users/{alice}/activity"), ("PUT", f"users/{alice}/servers/x"),
                         ("POST", f"users/{alice}/server"), ("PATCH", "proxy"),
                         ("POST", f"shares/{alice}/"), ("POST", "shutdown")):
        assert_error(api.request(method, path, content=body, headers=headers), 400)
    assert api.get(f"users/{alice}/tokens").json()["api_tokens"] == []
    assert api.get(f"users/{alice}/server").json()["stopped"] is True


#: (what is wrong, method, path, JSON body): each must be 400.
WRONG_BODIES: list[tuple[str, str, str, Any]] = [
    ("usernames not a list", "POST", "users", {"usernames": "bob"}),
    ("usernames of numbers", "POST", "users", {"usernames": [1, 2]}),
    ("no usernames", "POST", "users", {}),
    ("a body that is a list", "POST", "users", [{"usernames": ["bob"]}]),
    ("an unknown field", "POST", "users", {"usernames": ["{new}"], "colour": "red"}),
    ("admin as a string", "POST", "users", {"usernames": ["{new}"], "admin": "yes"}),
    ("admin as a number", "PATCH", "users/{alice}", {"admin": 1}),
    ("a name as a number", "PATCH", "users/{alice}", {"name": 5}),
    ("an invalid new name", "PATCH", "users/{alice}", {"name": "a/b"}),
    ("groups as a string", "PATCH", "users/{alice}", {"groups": "g"}),
    ("an unknown group", "PATCH", "users/{alice}", {"groups": ["no-such-group"]}),
    ("an unknown role", "PATCH", "users/{alice}", {"roles": ["no-such-role"]}),
    ("an unknown field", "PATCH", "users/{alice}", {"colour": "red"}),
    ("a timestamp that is not one", "POST", "users/{alice}/activity",
     {"last_activity": "yesterday"}),
    ("a timestamp as a number", "POST", "users/{alice}/activity", {"last_activity": 5}),
    ("a timestamp far in the future", "POST", "users/{alice}/activity",
     {"last_activity": "2999-01-01T00:00:00Z"}),
    ("servers as a list", "POST", "users/{alice}/activity", {"servers": []}),
    ("an unknown server", "POST", "users/{alice}/activity",
     {"servers": {"nothere": {"last_activity": "2020-01-01T00:00:00Z"}}}),
    ("no activity at all", "POST", "users/{alice}/activity", {}),
    ("display_name as a number", "PUT", "users/{alice}/servers/{server}",
     {"display_name": 5}),
    ("user_options as a list", "PUT", "users/{alice}/servers/{server}",
     {"user_options": [1]}),
    ("user_options as a list", "POST", "users/{alice}/servers/{server}",
     {"user_options": [1]}),
    ("expires_in as a string", "POST", "users/{alice}/tokens", {"expires_in": "1h"}),
    ("scopes as a string", "POST", "users/{alice}/tokens", {"scopes": "read:users"}),
    ("an unknown scope", "POST", "users/{alice}/tokens", {"scopes": ["read:everything"]}),
    ("groups not a list", "POST", "groups", {"groups": "{new}"}),
    ("an unknown member", "POST", "groups", {"groups": ["{new}"], "users": ["nobody-x"]}),
    ("properties as a list", "PUT", "groups/{group}/properties", [1]),
    ("users as a string", "POST", "groups/{group}/users", {"users": "{alice}"}),
    ("both user and group", "POST", "shares/{alice}/", {"user": "admin", "group": "{group}"}),
    ("servers as a string", "POST", "shutdown", {"servers": "yes"}),
    ("an unknown proxy field", "PATCH", "proxy", {"colour": "red"}),
]


@pytest.mark.parametrize(("wrong", "method", "path", "body"), WRONG_BODIES,
                         ids=[f"{m} {p} {w}" for w, m, p, _ in WRONG_BODIES])
def test_wrong_bodies_are_400_and_write_nothing(api, alice, wrong, method, path, body):
    names = {"alice": alice, "new": unique("never"), "server": unique("srv"),
             "group": new_group(api)}
    before = snapshot(api, alice, names)
    filled = fill(body, names)
    assert_error(api.request(method, path.format(**names), json=filled), 400)
    assert snapshot(api, alice, names) == before


def fill(body: Any, names: dict[str, str]) -> Any:
    if isinstance(body, str):
        return body.format(**names)
    if isinstance(body, list):
        return [fill(item, names) for item in body]
    if isinstance(body, dict):
        return {key: fill(value, names) for key, value in body.items()}
    return body


def snapshot(api: httpx.Client, alice: str, names: dict[str, str]) -> Any:
    """What a wrong request must not change."""
    user = api.get(f"users/{alice}", params={"include_stopped_servers": 1}).json()
    group = api.get(f"groups/{names['group']}").json()
    return (user["name"], user["admin"], user["groups"], user["roles"], user["last_activity"],
            sorted(user["servers"]), api.get(f"users/{alice}/tokens").json(),
            api.get(f"users/{names['new']}").status_code, group["properties"], group["users"],
            api.get(f"shares/{alice}").json()["items"])


#: Names no user may have, as they appear in a URL path.
BAD_NAMES = {
    "dot-dot": "..",
    "encoded slash": "a%2Fb",
    "encoded dot-dot slash": "..%2F..%2Fetc",
    "NUL": "a%00b",
    "newline": "a%0Ab",
    "escape": "a%1Bb",
    "DEL": "a%7Fb",
    "leading space": "%20alice",
    "trailing space": "alice%20",
    "10 kB": "x" * 10_000,
}


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_invalid_user_names_are_refused_with_a_4xx_and_no_user(hub, api, name):
    # Sent as is: httpx would normalise `..` away.
    url = httpx.URL(f"{hub.url}hub/api/users/{name}")
    response = api.send(api.build_request("POST", url))
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    assert set(response.json()) == {"status", "message"}
    everyone = {u["name"] for u in api.get("users").json()}
    assert not [u for u in everyone if "\x00" in u or "\n" in u or len(u) > 255
                or u != u.strip() or u in ("..", "a/b")]


@pytest.mark.parametrize("name", ["..", "a/b", "a\x00b", "a\nb", " alice", "x" * 10_000])
def test_invalid_names_in_a_body_are_400(api, name):
    assert_error(api.post("users", json={"usernames": [name]}), 400)
    assert_error(api.post("groups", json={"groups": [name]}), 400)


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_invalid_group_names_are_refused_with_a_4xx_and_no_group(hub, api, name):
    url = httpx.URL(f"{hub.url}hub/api/groups/{name}")
    response = api.send(api.build_request("POST", url))
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert all(len(g["name"]) <= 255 and "\x00" not in g["name"]
               for g in api.get("groups").json())


def test_a_form_body_is_not_json(api):
    name = unique("form")
    response = api.post("users", content=f"usernames={name}".encode(),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(response, 400, "Invalid JSON in body of request")
    assert_error(api.get(f"users/{name}"), 404)


def test_token_requests_are_read_as_json_whatever_their_content_type(api):
    # As in JupyterHub: `curl -d '{...}'` sends JSON labelled as a form.
    for content_type in ("application/x-www-form-urlencoded", "text/plain", None):
        name = unique("typed")
        headers = {"Content-Type": content_type} if content_type else {}
        response = api.post("users", content=f'{{"usernames": ["{name}"]}}'.encode(),
                            headers=headers)
        assert response.status_code == 201, (content_type, response.text)


def test_an_unknown_method_is_405_json(api, alice):
    for method, path in (("DELETE", "users"), ("PUT", f"users/{alice}"), ("GET", "shutdown"),
                         ("PATCH", "groups")):
        assert_error(api.request(method, path), 405)


def test_an_unknown_api_path_is_404_json(api):
    assert_error(api.get("no/such/thing"), 404)


def test_the_deprecated_token_endpoint_is_404(api):
    assert_error(api.post("authorizations/token", json={"username": "a", "password": "b"}),
                 404)


def test_asking_who_owns_a_token_needs_a_token(hub, api, alice, anonymous):
    token = api.post(f"users/{alice}/tokens", json={}).json()["token"]
    owner = api.get(f"authorizations/token/{token}")
    assert owner.status_code == 200 and owner.json()["name"] == alice
    assert_error(api.get("authorizations/token/not-a-token"), 404)
    assert_error(anonymous.get(f"authorizations/token/{token}"), 403)
