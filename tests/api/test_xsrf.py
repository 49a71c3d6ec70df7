"""XSRF on cookie-authenticated API calls, as JupyterHub 6.1.1 checks it (contract §7).

A browser logged in with the hub's cookie must send the ``_xsrf`` token (header or
argument) with every change, and with reads a script makes (``Sec-Fetch-Mode: cors``);
page views and old browsers without Sec-Fetch-Mode may read without it. A
cookie-authenticated POST that is not JSON is not authenticated at all. Token-
authenticated calls never need the XSRF token.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kernel.testing.hub import HubClient
from tests.api.helpers import assert_error, new_user

ACTIVITY = {"last_activity": "2026-01-01T00:00:00Z"}


@pytest.fixture
def browser(hub, api) -> Iterator[tuple[HubClient, str, str]]:
    """A logged-in browser, its user, and the XSRF token its pages carry."""
    name = new_user(api)
    with hub.client() as client:
        assert client.login(name).status_code == 302
        # What a page's script sends: the token the hub set with the login.
        yield client, name, client.cookies["_xsrf"]


def test_a_page_view_reads_the_api_without_the_token(browser):
    client, name, _ = browser
    for headers in ({}, {"Sec-Fetch-Mode": "navigate"},
                    {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Site": "same-origin"}):
        response = client.get("hub/api/user", headers=headers)
        assert response.status_code == 200, headers
        assert response.json()["name"] == name
        assert response.json()["token_id"] is None


def test_a_scripted_read_needs_the_token(browser):
    client, name, token = browser
    assert_error(client.get("hub/api/user", headers={"Sec-Fetch-Mode": "cors"}), 403,
                 "'_xsrf' argument missing from GET")
    assert_error(client.get("hub/api/user", headers={"Sec-Fetch-Mode": "no-cors",
                                                     "Sec-Fetch-Site": "cross-site"}), 403)
    assert_error(client.get("hub/api/user", headers={"Sec-Fetch-Mode": "cors",
                                                     "X-XSRFToken": "forged"}), 403,
                 "XSRF cookie does not match GET argument")
    good = client.get("hub/api/user", headers={"Sec-Fetch-Mode": "cors", "X-XSRFToken": token})
    assert good.status_code == 200 and good.json()["name"] == name


def test_a_change_without_the_token_is_403_and_changes_nothing(browser, api):
    client, name, _ = browser
    assert_error(client.post(f"hub/api/users/{name}/activity", json=ACTIVITY), 403,
                 "'_xsrf' argument missing from POST")
    assert_error(client.post(f"hub/api/users/{name}/tokens", json={}), 403)
    assert_error(client.delete(f"hub/api/users/{name}/server"), 403,
                 "'_xsrf' argument missing from DELETE")
    assert api.get(f"users/{name}/tokens").json()["api_tokens"] == []


def test_a_change_with_a_wrong_token_is_403(browser):
    client, name, _ = browser
    assert_error(client.post(f"hub/api/users/{name}/activity", json=ACTIVITY,
                             headers={"X-XSRFToken": "forged"}), 403,
                 "XSRF cookie does not match POST argument")


def test_the_token_may_come_as_either_header_or_as_an_argument(browser):
    client, name, token = browser
    for kwargs in ({"headers": {"X-XSRFToken": token}}, {"headers": {"X-CSRFToken": token}},
                   {"params": {"_xsrf": token}}):
        response = client.post(f"hub/api/users/{name}/activity", json=ACTIVITY, **kwargs)
        assert response.status_code == 200, kwargs


def test_a_change_with_the_token_works(browser, api):
    client, name, token = browser
    response = client.post(f"hub/api/users/{name}/tokens", json={"note": "from a page"},
                           headers={"X-XSRFToken": token})
    assert response.status_code == 201
    assert [t["note"] for t in api.get(f"users/{name}/tokens").json()["api_tokens"]] == \
        ["from a page"]


def test_a_cookie_post_that_is_not_json_is_not_authenticated(browser):
    client, name, token = browser
    body = b'{"last_activity": "2026-01-01T00:00:00Z"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=x"):
        response = client.post(f"hub/api/users/{name}/activity", content=body,
                               headers={"X-XSRFToken": token, "Content-Type": content_type})
        assert_error(response, 403, "Missing or invalid credentials.")
    # No Content-Type at all is allowed.
    response = client.post(f"hub/api/users/{name}/activity", content=body,
                           headers={"X-XSRFToken": token})
    assert response.status_code == 200


def test_token_calls_need_no_xsrf_token(hub, api):
    name = new_user(api)
    response = api.post(f"users/{name}/activity", json=ACTIVITY,
                        headers={"Sec-Fetch-Mode": "cors"})
    assert response.status_code == 200
    assert api.get("user", headers={"Sec-Fetch-Mode": "cors"}).status_code == 200


def test_a_token_wins_over_a_cookie(browser, api):
    client, _, _ = browser
    other = new_user(api)
    token = api.post(f"users/{other}/tokens", json={}).json()["token"]
    response = client.post(f"hub/api/users/{other}/activity", json=ACTIVITY,
                           headers={"Authorization": f"token {token}"})
    assert response.status_code == 200
    assert client.get("hub/api/user", headers={"Authorization": f"token {token}"}).json()[
        "name"] == other


def test_a_token_from_before_the_login_or_from_another_session_is_refused(hub, api, browser):
    _, name, token = browser
    with hub.client() as stranger:
        anonymous = stranger.xsrf("hub/login")  # what the login form carried
        assert stranger.login(name).status_code == 302
        theirs = stranger.cookies["_xsrf"]
        assert theirs != anonymous
        for wrong in (anonymous, token):  # before the login; the other browser's session
            stranger.cookies.set("_xsrf", wrong, path="/hub/")
            assert_error(stranger.post(f"hub/api/users/{name}/activity", json=ACTIVITY,
                                       headers={"X-XSRFToken": wrong}), 403)
        stranger.cookies.set("_xsrf", theirs, path="/hub/")
        assert stranger.post(f"hub/api/users/{name}/activity", json=ACTIVITY,
                             headers={"X-XSRFToken": theirs}).status_code == 200
