"""Malformed input is refused with a reason (400, or the login form's error), never a 500.

Each case once crashed a handler with a traceback: ``hmac.compare_digest``
on non-ASCII ``str`` (XSRF tokens, PKCE), and ``timedelta`` on a token
lifetime of 1e308, Infinity or NaN. A real hub (``running_hub``), reached
through its proxy.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from kernel.testing.hub import running_hub

ADMIN_TOKEN = "bad-input-admin-token-0123456789"
CLIENT_SECRET = "bad-input-probe-token-0123456789"
REDIRECT_URI = "http://127.0.0.1:9/oauth_callback"
SECTIONS = {
    "hub.api_tokens": {ADMIN_TOKEN: "admin"},
    "auth": {"admin_users": "admin"},
    # An OAuth client the tests play: a service with no URL of its own.
    "service:probe": {"api_token": CLIENT_SECRET, "oauth_redirect_uri": REDIRECT_URI,
                      "oauth_no_confirm": "true"},
    "role:probe-users": {"scopes": "access:services", "users": "alice"},
}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with running_hub(tmp_path_factory.mktemp("bad-input"), SECTIONS) as hub:
        yield hub


@pytest.fixture
def no_traceback(hub):
    """The test must leave no traceback in the hub's log."""
    before = hub.log.count("Traceback")
    yield
    assert hub.log.count("Traceback") == before, hub.log[-3000:]


@pytest.fixture
def alice(hub):
    client = hub.client()
    assert client.login("alice").status_code == 302
    return client


def test_a_non_ascii_xsrf_on_the_login_form_gets_the_forms_error(hub, no_traceback):
    client = hub.client()
    client.xsrf()  # the cookie, as a browser would have it
    answer = client.post("hub/login", data={"username": "alice", "password": "x",
                                            "_xsrf": "\u00e9t\u00e9-\u2603"})
    assert answer.status_code == 403
    assert "Login form invalid or expired. Try again." in answer.text


def test_a_non_ascii_xsrf_header_is_an_xsrf_mismatch(alice, no_traceback):
    answer = alice.post("hub/api/users/alice/tokens", json={},
                        headers={"X-XSRFToken": b"\xe9t\xe9"})
    assert answer.status_code == 403
    assert answer.json()["message"] == "XSRF cookie does not match POST argument"


def _authorize(client, **extra: str):
    query = urlencode({"client_id": "service-probe", "redirect_uri": REDIRECT_URI,
                       "response_type": "code", **extra})
    return client.get(f"hub/api/oauth2/authorize?{query}")


def test_a_non_ascii_pkce_code_challenge_is_400(alice, no_traceback):
    answer = _authorize(alice, code_challenge="\u00e9" * 43, code_challenge_method="plain")
    assert answer.status_code == 400
    assert "code_challenge must be 1 to 128 ASCII letters" in answer.text


def test_a_non_ascii_pkce_code_verifier_is_invalid_grant(alice, no_traceback):
    answer = _authorize(alice, code_challenge="a" * 43, code_challenge_method="plain")
    assert answer.status_code == 302, answer.text
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    token = alice.post("hub/api/oauth2/token", data={
        "grant_type": "authorization_code", "client_id": "service-probe",
        "client_secret": CLIENT_SECRET, "code": code, "redirect_uri": REDIRECT_URI,
        "code_verifier": "\u00e9" * 43})
    assert token.status_code == 400
    assert token.json()["error"] == "invalid_grant"


def _new_token(hub, body: str):
    return hub.client().post("hub/api/users/admin/tokens", content=body,
                             headers={"Authorization": f"token {ADMIN_TOKEN}",
                                      "Content-Type": "application/json"})


@pytest.mark.parametrize(("expires_in", "message"), [
    ("1e308", "expires_in must be null or a whole number of seconds"),
    ("1" + "0" * 400, "expires_in must be a number of seconds up to 3153600000 (100 years)"),
])
def test_an_absurd_token_lifetime_is_400(hub, no_traceback, expires_in, message):
    answer = _new_token(hub, f'{{"expires_in": {expires_in}}}')
    assert answer.status_code == 400
    assert answer.json()["message"] == message


@pytest.mark.parametrize("constant", ["Infinity", "NaN"])
def test_nan_and_infinity_are_not_json_in_any_body(hub, no_traceback, constant):
    answer = _new_token(hub, f'{{"expires_in": {constant}}}')
    assert answer.status_code == 400
    assert answer.json()["message"] == (f"Invalid JSON in body of request: {constant} is not "
                                        "a JSON value")
