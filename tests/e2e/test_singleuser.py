"""Real Jupyter servers: Unix accounts, the real jupyterhub-singleuser, OAuth, JupyterLab.

A person logs in, gets JupyterLab started as their own Unix account, loads it
in Chromium through the proxy after the OAuth handshake, and runs code in a
kernel over its websocket. Other people cannot get in.
"""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from kernel.testing.hub import free_port, running_hub
from kernel.testing.infra import PASSWORD
from kernel.testing.kernels import execute, start_kernel
from tests.e2e.conftest import screenshot, uid_of

ADMIN_TOKEN = "admin-token-for-the-singleuser-tests"


def sections(singleuser_cmd: str, **extra: dict[str, str]) -> dict[str, dict[str, str]]:
    base = {
        "hub": {"spawner_class": "localprocess"},
        "hub.api_tokens": {ADMIN_TOKEN: "admin"},
        "auth": {"admin_users": "admin"},
        "dummy": {"password": PASSWORD},
        "spawner": {"cmd": singleuser_cmd, "start_timeout": "60", "http_timeout": "60"},
    }
    for name, items in extra.items():
        base.setdefault(name, {}).update(items)
    return base


def admin(hub) -> httpx.Client:
    return httpx.Client(base_url=f"{hub.url}hub/api", timeout=90,
                        headers={"Authorization": f"token {ADMIN_TOKEN}"})


def start(hub, name: str) -> dict:
    api = admin(hub)
    api.post(f"/users/{name}")
    response = api.post(f"/users/{name}/server")
    assert response.status_code in (201, 202), response.text
    for _ in range(300):
        model = api.get(f"/users/{name}").json()
        if model["server"]:
            return api.get(f"/users/{name}/server").json()
        time.sleep(0.2)
    raise AssertionError(f"{name}'s server did not become ready:\n{hub.log[-3000:]}")


def token_for(hub, name: str) -> str:
    api = admin(hub)
    api.post(f"/users/{name}")  # 201, or 409 when the user exists already
    return api.post(f"/users/{name}/tokens", json={"note": "test"}).json()["token"]


@pytest.fixture
def hub(tmp_path, singleuser_cmd, unix_user):
    with running_hub(tmp_path / "hub", sections(singleuser_cmd)) as hub:
        yield hub


def test_a_server_runs_as_its_users_unix_account(hub, unix_user):
    alice = unix_user()
    start(hub, alice.pw_name)
    state = admin(hub).get(f"/users/{alice.pw_name}/server").json()["state"]
    assert uid_of(state["pid"]) == alice.pw_uid


def open_jupyterlab(browser, login_url: str, name: str, lab_url: str):
    """Log ``name`` in at ``login_url`` in a new Chromium page and wait until JupyterLab,
    at ``lab_url`` (a glob), has fully loaded; the page."""
    page = browser.new_page()
    page.goto(login_url)
    page.fill("#username_input", name)
    page.fill("#password_input", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lab_url, timeout=90_000)
    page.wait_for_selector(".jp-Launcher", timeout=120_000)
    return page


def test_jupyterlab_loads_in_chromium_after_logging_in(hub, unix_user, browser):
    alice = unix_user()
    # Login -> spawn -> the progress page -> the server -> OAuth -> JupyterLab.
    page = open_jupyterlab(browser, f"{hub.url}hub/login", alice.pw_name,
                           f"**/user/{alice.pw_name}/lab**")
    screenshot(page, "jupyterlab-after-login")
    assert page.title().startswith("JupyterLab") or "JupyterLab" in page.content()
    page.close()


def test_with_subdomains_jupyterlab_loads_on_the_users_own_host(tmp_path, singleuser_cmd,
                                                               unix_user, browser):
    # Chromium resolves every *.localhost name to the loopback address.
    alice, port = unix_user(), free_port()
    hub_host, alice_host = f"http://localhost:{port}", f"http://{alice.pw_name}.localhost:{port}"
    config = sections(singleuser_cmd, hub={"subdomain_host": hub_host})
    with running_hub(tmp_path / "hub", config, public_port=port):
        # Spawn on the hub's host, JupyterLab on alice's, the OAuth login in between.
        page = open_jupyterlab(browser, f"{hub_host}/hub/login", alice.pw_name,
                               f"{alice_host}/user/{alice.pw_name}/lab**")
        screenshot(page, "jupyterlab-on-its-own-host")
        # The server's cookies stay on alice's host; the hub's on its own.
        hosts = {cookie["name"]: cookie["domain"] for cookie in page.context.cookies()}
        assert hosts["jupyterhub-hub-login"] == "localhost"
        assert hosts[f"jupyterhub-user-{alice.pw_name}"] == f"{alice.pw_name}.localhost"
        page.close()


def test_a_kernel_runs_code_over_its_websocket_through_the_proxy(hub, unix_user):
    alice = unix_user()
    start(hub, alice.pw_name)
    token = token_for(hub, alice.pw_name)
    server_url = f"{hub.url}user/{alice.pw_name}/"
    kernel = start_kernel(server_url, token)
    assert execute(server_url, token, kernel, "1+1") == "2"


def test_another_user_cannot_reach_the_server(hub, unix_user):
    alice, bob = unix_user(), unix_user()
    start(hub, alice.pw_name)
    alice_url = f"{hub.url}user/{alice.pw_name}/"
    # Bob's token: the server refuses it.
    bob_token = token_for(hub, bob.pw_name)
    assert httpx.get(f"{alice_url}api/status",
                     headers={"Authorization": f"token {bob_token}"}).status_code == 403
    # Bob's browser session: the hub refuses to authorize him for alice's server.
    bob_browser = hub.client()
    bob_browser.login(bob.pw_name, PASSWORD)
    chain = bob_browser.get(f"user/{alice.pw_name}/lab", follow_redirects=True)
    assert chain.status_code == 403
    assert "api/oauth2/authorize" in str(chain.url)
    # A crafted authorize request sending alice's client to another address is refused.
    crafted = bob_browser.get("hub/api/oauth2/authorize", params={
        "client_id": f"jupyterhub-user-{alice.pw_name}", "response_type": "code",
        "redirect_uri": "https://evil.example/callback"})
    assert crafted.status_code == 400
    # And with alice's own redirect, bob still is not let in.
    own_redirect = bob_browser.get("hub/api/oauth2/authorize", params={
        "client_id": f"jupyterhub-user-{alice.pw_name}", "response_type": "code",
        "redirect_uri": f"/user/{alice.pw_name}/oauth_callback"})
    assert own_redirect.status_code == 403
    assert "code=" not in own_redirect.headers.get("location", "")


def test_a_restart_without_cleanup_keeps_a_running_kernel(tmp_path, singleuser_cmd,
                                                          unix_user):
    alice = unix_user()
    config = sections(singleuser_cmd, hub={"cleanup_servers": "false",
                                           "cleanup_proxy": "false"},
                      proxy={"auth_token": "a-proxy-token-that-survives"})
    with running_hub(tmp_path / "hub", config) as hub:
        start(hub, alice.pw_name)
        token = token_for(hub, alice.pw_name)
        server_url = f"{hub.url}user/{alice.pw_name}/"
        kernel = start_kernel(server_url, token)
        assert execute(server_url, token, kernel, "x = 40; x + 1") == "41"
        assert hub.stop() == 0
        hub.start(timeout=90)
        assert admin(hub).get(f"/users/{alice.pw_name}").json()["server"]
        assert execute(server_url, token, kernel, "x + 2") == "42"  # the same kernel
        proxy_pid = int((hub.directory / "proxy.pid").read_text())
        server_pid = admin(hub).get(f"/users/{alice.pw_name}/server").json()["state"]["pid"]
    for pid in (proxy_pid, server_pid):
        os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("admin_access", ["false", "true"])
def test_admins_open_users_servers_only_with_admin_access(tmp_path, singleuser_cmd, unix_user,
                                                          admin_access):
    alice = unix_user()
    with running_hub(tmp_path / "hub", sections(singleuser_cmd,
                                                hub={"admin_access": admin_access})) as hub:
        start(hub, alice.pw_name)
        answer = httpx.get(f"{hub.url}user/{alice.pw_name}/api/status",
                           headers={"Authorization": f"token {ADMIN_TOKEN}"})
        assert answer.status_code == (200 if admin_access == "true" else 403)
        # Either way, the admin can stop the server.
        assert admin(hub).delete(f"/users/{alice.pw_name}/server").status_code == 204
