"""kernel-proxy is a drop-in proxy for the real JupyterHub 6.1.1.

JupyterHub runs with its own ``ConfigurableHTTPProxy`` pointed at a
kernel-proxy it did not start (``should_start = False``, ``api_url``,
``auth_token``), as deployments that run configurable-http-proxy separately
do. A user logs in through kernel-proxy's public port with JupyterHub's login
form, starts a server through JupyterHub's REST API, and reaches it through
kernel-proxy.

JupyterHub comes from the ``jupyterhub`` fixture (tests/e2e/conftest.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kernel.testing.hub import free_port, stop_process, wait_until
from tests.proxy.conftest import REPO, TOKEN

PASSWORD = "jupyterhub-test-password"

CONFIG = """\
c.JupyterHub.bind_url = {public_url!r}
c.JupyterHub.hub_bind_url = {hub_url!r}
c.JupyterHub.db_url = {db_url!r}
c.JupyterHub.cookie_secret_file = {cookie_secret!r}
c.JupyterHub.proxy_class = "configurable-http-proxy"
c.ConfigurableHTTPProxy.should_start = False
c.ConfigurableHTTPProxy.api_url = {api_url!r}
c.ConfigurableHTTPProxy.auth_token = {token!r}
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {home!r}
c.Spawner.cmd = [{python!r}, "-m", "kernel.testing.mockserver"]
"""

_XSRF_FIELD = re.compile(r'name="_xsrf" value="([^"]+)"')


def started(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with open(log, "ab") as output:
        return subprocess.Popen(command, cwd=log.parent, env={**os.environ, **env},
                                stdout=output, stderr=subprocess.STDOUT)


@pytest.fixture
def stack(tmp_path: Path, jupyterhub: Path) -> Iterator[dict[str, str]]:
    """kernel-proxy, then JupyterHub driving it; their URLs. Both stop after the test."""
    public, api, hub = free_port(), free_port(), free_port()
    urls = {"public": f"http://127.0.0.1:{public}", "api": f"http://127.0.0.1:{api}"}
    proxy_log, hub_log = tmp_path / "kernel-proxy.log", tmp_path / "jupyterhub.log"
    proxy = started([sys.executable, "-m", "plugins.kernel_proxy", "--ip", "127.0.0.1",
                     "--port", str(public), "--api-ip", "127.0.0.1", "--api-port", str(api),
                     "--error-target", f"http://127.0.0.1:{hub}/hub/error"],
                    proxy_log, {"CONFIGPROXY_AUTH_TOKEN": TOKEN, "PYTHONPATH": str(REPO)})
    config = tmp_path / "jupyterhub_config.py"
    config.write_text(CONFIG.format(
        public_url=urls["public"], hub_url=f"http://127.0.0.1:{hub}", api_url=urls["api"],
        db_url=f"sqlite:///{tmp_path / 'jupyterhub.sqlite'}",
        cookie_secret=str(tmp_path / "jupyterhub_cookie_secret"), token=TOKEN,
        password=PASSWORD, home=str(tmp_path / "home" / "{username}"), python=sys.executable))
    hub_process = started([str(jupyterhub), "-f", str(config)], hub_log,
                          {"CONFIGPROXY_AUTH_TOKEN": ""})
    try:
        # Through kernel-proxy: JupyterHub has added its own route over kernel-proxy's API.
        wait_until(lambda: httpx.get(f"{urls['public']}/hub/health").status_code == 200,
                   60, log=hub_log)
        yield urls
    finally:
        for process in (hub_process, proxy):
            stop_process(process, timeout=30)


def test_a_user_logs_in_and_reaches_their_server_through_kernel_proxy(stack, tmp_path):
    with httpx.Client(base_url=stack["public"], timeout=30) as client:
        form = client.get("/hub/login")
        xsrf = _XSRF_FIELD.search(form.text)
        assert xsrf is not None, form.text
        login = client.post("/hub/login", data={"username": "alice", "password": PASSWORD,
                                                "_xsrf": xsrf.group(1)})
        assert login.status_code == 302, login.text
        spawn = client.post("/hub/api/users/alice/server",
                            headers={"X-XSRFToken": client.cookies["_xsrf"]})
        assert spawn.status_code in (201, 202), spawn.text
        page = wait_until(lambda: (r := client.get("/user/alice/")).status_code == 200 and r,
                          30, log=tmp_path / "jupyterhub.log")
        assert "Hello, alice" in page.text  # kernel.testing.mockserver, run by JupyterHub

    routes = httpx.get(f"{stack['api']}/api/routes",
                       headers={"Authorization": f"token {TOKEN}"}).json()
    assert routes["/"]["jupyterhub"] is True
    assert routes["/user/alice"]["user"] == "alice"
    assert routes["/user/alice"]["jupyterhub"] is True
