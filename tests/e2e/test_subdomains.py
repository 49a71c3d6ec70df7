"""Users' servers on hosts of their own (`subdomain_host`): a real hub, both real proxies,
real servers (kernel.testing.mockserver).

The hub's host is ``localhost:PORT`` and alice's ``alice.localhost:PORT``. Requests go
to 127.0.0.1 with the Host header a browser would send: browsers resolve
``*.localhost`` to the loopback address, Python's resolver does not.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kernel.testing.hub import HubClient, HubProcess, default_sections, free_port, merge, wait_until
from kernel.urls import subdomain
from tests.api.helpers import ADMIN_TOKEN, HUB_SECTIONS
from tests.proxy.conftest import CHP, KERNEL_PROXY, TOKEN, chp_command


@contextlib.contextmanager
def subdomain_hub(directory: Path, plugin: str) -> Iterator[HubProcess]:
    """A hub with ``subdomain_host = http://localhost:PORT``, routed by ``plugin``."""
    directory.mkdir(parents=True, exist_ok=True)
    hub = HubProcess(directory, free_port(), free_port(), free_port())
    sections = merge(default_sections(directory, hub), HUB_SECTIONS)
    sections = merge(sections, {
        "hub": {"subdomain_host": f"http://localhost:{hub.public_port}",
                "proxy_check_interval": "1", "proxy_class": plugin},
        "proxy": {"auth_token": TOKEN},
        "service:grader": {"command": f"{sys.executable} -m kernel.testing.mockserver",
                           "url": f"http://127.0.0.1:{free_port()}"},
    })
    if plugin == CHP:
        sections = merge(sections, {CHP: {"command": shlex.join(chp_command()),
                                          "pid_file": str(directory / "proxy.pid")}})
    hub.sections = sections
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def on_host(hub: HubProcess, host: str, path: str, **kwargs: object) -> httpx.Response:
    """GET ``path`` through the proxy as a browser on ``host`` (a name under localhost)."""
    return httpx.get(f"http://127.0.0.1:{hub.public_port}{path}",
                     headers={"Host": f"{host}:{hub.public_port}"}, timeout=10,
                     **kwargs)  # type: ignore[arg-type]


@pytest.fixture(params=[KERNEL_PROXY, CHP])
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubProcess]:
    with subdomain_hub(tmp_path / "hub", request.param) as hub:
        yield hub


@pytest.fixture
def alice(hub: HubProcess) -> dict:
    """alice's default server, started through the API; its model."""
    api = httpx.Client(base_url=f"{hub.url}hub/api/", timeout=30,
                       headers={"Authorization": f"token {ADMIN_TOKEN}"})
    assert api.post("users/alice").status_code in (201, 409)
    assert api.post("users/alice/server").status_code in (201, 202)
    return wait_until(lambda: (model := api.get("users/alice").json()["servers"][""])["ready"]
                      and model, 20, what="alice's server ready")


def test_a_server_is_on_its_users_own_host_and_its_urls_say_so(hub, alice):
    origin = f"http://alice.localhost:{hub.public_port}"
    assert (alice["url"], alice["full_url"]) == (f"{origin}/user/alice/",) * 2
    assert "Hello, alice" in on_host(hub, "alice.localhost", "/user/alice/").text
    env = on_host(hub, "alice.localhost", "/user/alice/env").json()
    assert env["JUPYTERHUB_HOST"] == f"http://localhost:{hub.public_port}"
    assert env["JUPYTERHUB_OAUTH_CALLBACK_URL"] == f"{origin}/user/alice/oauth_callback"
    assert env["JUPYTERHUB_PUBLIC_URL"] == f"{origin}/user/alice/"
    assert env["JUPYTERHUB_SERVICE_PREFIX"] == "/user/alice/"
    routes = httpx.get(f"http://127.0.0.1:{hub.proxy_api_port}/api/routes",
                       headers={"Authorization": f"token {TOKEN}"}).json()
    assert routes["/alice.localhost/user/alice"]["user"] == "alice"


def test_a_service_is_on_its_own_host(hub):
    answer = wait_until(lambda: (r := on_host(hub, "grader--service.localhost",
                                               "/services/grader/")).status_code == 200 and r,
                        20, what="the grader service answering on its own host")
    assert "Hello" in answer.text
    assert "Hello" not in on_host(hub, "localhost", "/services/grader/").text


def test_the_servers_path_on_any_other_host_leads_to_the_hub_not_to_the_server(hub, alice):
    for host in ("localhost", "bob.localhost"):
        answer = on_host(hub, host, "/user/alice/tree")
        assert "Hello, alice" not in answer.text
        # The hub sends it to its own host, where its cookies are.
        assert answer.status_code == 302
        assert answer.headers["location"] == \
            f"http://localhost:{hub.public_port}/hub/user/alice/tree"


def test_the_hub_sends_a_logged_in_user_on_to_their_servers_host(hub, alice):
    client = HubClient(hub, headers={"Host": f"localhost:{hub.public_port}"})
    login = client.login("alice")
    # The session id is for every host under the hub's (servers read it), the login not.
    cookies = {header.split("=", 1)[0]: header for header in login.headers.get_list("set-cookie")}
    assert "domain=localhost" in cookies["jupyterhub-session-id"].lower()
    assert "domain=" not in cookies["jupyterhub-hub-login"].lower()
    answer = client.get("hub/user/alice/tree", follow_redirects=False)
    assert answer.status_code == 302
    assert answer.headers["location"] == \
        f"http://alice.localhost:{hub.public_port}/user/alice/tree?redirects=1"
    # Once ready, the spawn-pending page sends the browser to the server's own host too.
    pending = client.get("hub/spawn-pending/alice", follow_redirects=False)
    assert pending.headers["location"] == f"http://alice.localhost:{hub.public_port}/user/alice/"


def test_routes_read_back_from_the_proxy_are_the_routes_the_hub_wants(hub, alice):
    time.sleep(2.5)  # two checks of the proxy (proxy_check_interval = 1)
    checks = [line for line in hub.log.splitlines()
              if "route /alice.localhost" in line or "route alice.localhost" in line]
    # One route added at spawn; no check found it missing or stale since.
    assert not [line for line in checks if "missing" in line or "stale" in line], checks


#: Names that are safe labels, need IDNA, cannot be encoded, or look encoded already.
NAMES = ["alice", "Alice", "zoë", "üni", "ann@example.org", "a.b", "has--dash", "-pre",
         "xn--ni-wka", "1234", "x" * 70, "日本語", "É"]


def test_hosts_are_named_as_jupyterhubs_idna_subdomain_hook_names_them(jupyterhub):
    python = jupyterhub.parent / "python"
    script = ("import json, sys; from jupyterhub.utils import subdomain_hook_idna as hook; "
              "print(json.dumps([hook(n, 'hub.example.org', k) "
              "for n, k in json.load(sys.stdin)]))")
    cases = [(name, kind) for name in NAMES for kind in ("user", "service")]
    done = subprocess.run([str(python), "-c", script], input=json.dumps(cases),
                          capture_output=True, text=True, check=True)
    assert [subdomain(name, "hub.example.org", kind) for name, kind in cases] == \
        json.loads(done.stdout)
