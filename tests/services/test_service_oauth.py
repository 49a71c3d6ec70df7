"""Logging in to a service with one's hub account: JupyterHub's own HubOAuth client,
against the hub's OAuth provider, through the proxy."""

from __future__ import annotations

import re
from html import unescape

from tests.api.helpers import api_client


def _authorize_form(page: str) -> dict[str, str]:
    """The hidden fields of the confirmation page's form."""
    return {name: unescape(value) for name, value in
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)}


def test_a_user_logs_in_to_a_managed_service_after_confirming(hub):
    client = hub.client()
    client.login("alice")
    page = client.get("services/whoami/", follow_redirects=True)
    assert page.status_code == 200
    assert "JupyterHub service whoami" in page.text  # the hub asks first
    assert "access:services!service=whoami" in page.text
    answer = client.post("hub/api/oauth2/authorize", data=_authorize_form(page.text),
                         follow_redirects=True)
    assert answer.status_code == 200, answer.text
    model = answer.json()
    assert (model["kind"], model["name"]) == ("user", "alice")
    assert "access:services!service=whoami" in model["scopes"]
    # Allowed once, not asked again.
    again = client.get("services/whoami/", follow_redirects=True)
    assert again.json()["name"] == "alice"


def test_a_no_confirm_service_logs_people_straight_in(hub, external_service):
    client = hub.client()
    client.login("alice")
    answer = client.get("services/external/", follow_redirects=True)
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "alice"
    with api_client(hub) as api:
        tokens = api.get("users/alice/tokens").json()["api_tokens"]
    assert "JupyterHub service external" in [t["oauth_client"] for t in tokens], tokens


def test_someone_without_access_to_the_service_is_refused(hub):
    client = hub.client()
    client.login("bob")  # not in the service-users role: no access:services
    answer = client.get("services/whoami/", follow_redirects=True)
    assert answer.status_code == 403
    assert "bob may not use JupyterHub service whoami" in answer.text


def test_the_pages_link_to_displayed_services(hub):
    client = hub.client()
    client.login("alice")
    home = client.get("hub/home")
    assert '<a href="/services/whoami/">whoami</a>' in home.text
    assert '<a href="/services/external/">external</a>' in home.text
    assert "admin-tool" not in home.text  # no URL, and display = false
