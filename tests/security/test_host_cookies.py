"""``cookie_host_prefix_enabled``: with users' servers on subdomains, the hub's login
cookie is a ``__Host-`` cookie (Secure, path ``/``, no Domain), which a server on a
subdomain can neither set nor overwrite, and the session-id cookie stays on the hub's
own host (JupyterHub 4.1+ names the cookie the same way)."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import httpx

from kernel.testing.hub import PASSWORD, free_port, running_hub
from tests.api.helpers import HUB_SECTIONS, api_client, start_server


def _login(port: int) -> httpx.Response:
    """The answer to a form login on the hub's host, ``localhost:PORT``."""
    with httpx.Client(base_url=f"http://localhost:{port}/", timeout=30) as browser:
        page = browser.get("hub/login")
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
        return browser.post("hub/login", data={"username": "alice", "password": PASSWORD,
                                               "_xsrf": xsrf})


def _set_cookies(response: httpx.Response) -> dict[str, dict[str, str]]:
    """Each cookie the response sets: its attributes, lower-cased."""
    cookies = {}
    for header in response.headers.get_list("set-cookie"):
        parsed = SimpleCookie()
        parsed.load(header)
        for name, morsel in parsed.items():
            cookies[name] = {key: str(value).lower() for key, value in morsel.items()
                             if value} | {"value": morsel.value}
    return cookies


def _hub_sections(port: int, prefixed: bool) -> dict[str, dict[str, str]]:
    return {**HUB_SECTIONS, "hub": {**HUB_SECTIONS["hub"],
                                    "subdomain_host": f"http://localhost:{port}",
                                    "cookie_host_prefix_enabled": str(prefixed).lower()}}


def test_the_login_cookie_is_a_host_cookie_and_the_session_stays_on_the_hub_s_host(tmp_path):
    port = free_port()
    with running_hub(tmp_path, _hub_sections(port, True), public_port=port) as hub:
        cookies = _set_cookies(_login(port))
        login = cookies["__Host-jupyterhub-hub-login"]
        assert (login["path"], login["secure"], login.get("domain")) == ("/", "true", None)
        assert "jupyterhub-hub-login" not in cookies
        assert cookies["jupyterhub-session-id"].get("domain") is None

        with api_client(hub, None) as anonymous:
            with_host_cookie = anonymous.get("user", headers={
                "Cookie": f"__Host-jupyterhub-hub-login={login['value']}"})
            assert with_host_cookie.status_code == 200, with_host_cookie.text
            assert with_host_cookie.json()["name"] == "alice"
            # A cookie without the prefix is what a subdomain could toss at the hub.
            tossed = anonymous.get("user", headers={
                "Cookie": f"jupyterhub-hub-login={login['value']}"})
            assert tossed.status_code == 403


def test_servers_are_told_to_use_host_cookies_too(tmp_path):
    sections = {**HUB_SECTIONS, "hub": {**HUB_SECTIONS["hub"],
                                        "cookie_host_prefix_enabled": "true"}}
    with running_hub(tmp_path, sections) as hub, api_client(hub) as api:
        api.post("users/alice")
        start_server(api, "alice")
        env = httpx.get(f"{hub.url}user/alice/env", timeout=10).json()
        api.delete("users/alice/server")
    assert env["JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED"] == "1"


def test_without_the_option_the_session_cookie_reaches_users_subdomains(tmp_path):
    port = free_port()
    with running_hub(tmp_path, _hub_sections(port, False), public_port=port):
        cookies = _set_cookies(_login(port))
    assert cookies["jupyterhub-hub-login"]["path"] == "/hub/"
    assert cookies["jupyterhub-session-id"]["domain"] == "localhost"
