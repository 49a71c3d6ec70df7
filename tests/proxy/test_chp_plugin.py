"""The proxy plugins as the hub runs them: configurable-http-proxy (npm) and kernel-proxy.

Both plugins are a ``ProcessProxy`` (``plugins.support``) with a different command, so
running the proxy is one contract, checked against both with the real
processes: JupyterHub's flags, the token in the environment, a restart at
once when the proxy dies, a proxy left running by a previous hub taken over
(our token) or replaced (another token), a clean stop, and the proxy's
``last_activity`` reaching users' and servers' activity. What only the
configurable-http-proxy plugin has (JupyterHub's option names, what a missing
npm package says) is tested for it alone. The hub runs in this process
(starlette's TestClient drives its lifespan).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from importlib.metadata import EntryPoint
from pathlib import Path
from urllib.parse import quote, unquote

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from kernel.clock import utcnow
from kernel.config.loader import load
from kernel.hub import Hub
from kernel.proxy import ProxyError
from kernel.testing.hub import (
    PASSWORD,
    HubProcess,
    default_sections,
    free_port,
    merge,
    render_ini,
    wait_until,
)
from kernel.web.app import build_app
from plugins.support.proxy_process import running
from tests.fake_plugins import hook_probe

from .conftest import CHP, KERNEL_PROXY, REPO, TOKEN, chp_command


def plugin_app(directory: Path, plugin: str, command: list[str],
               sections: dict[str, dict[str, str]] | None = None,
               installed: dict[str, EntryPoint] | None = None) -> Starlette:
    """The hub's app (as ``hub_app`` builds it) routing through ``plugin`` run as ``command``."""
    directory.mkdir(parents=True, exist_ok=True)
    ports = HubProcess(directory, free_port(), free_port(), free_port())
    chosen = {"hub": {"proxy_class": plugin},
              plugin: {"command": shlex.join(command),
                       "pid_file": str(directory / "proxy.pid")}}
    merged = merge(default_sections(directory, ports), chosen)
    merged = merge(merged, sections)
    (directory / "hub.ini").write_text(render_ini(merged))
    hub = Hub(load(directory / "hub.ini", installed=installed))
    hub.prepare_database()
    return build_app(hub)


@pytest.fixture(params=[KERNEL_PROXY, CHP])
def route_plugin(request: pytest.FixtureRequest, tmp_path: Path
                 ) -> Callable[..., Starlette]:
    """Builds a hub routed by each proxy plugin in turn: ``route_plugin(sections, installed=)``."""
    command = ([sys.executable, "-m", "plugins.kernel_proxy"] if request.param == KERNEL_PROXY
               else chp_command())
    return lambda sections=None, **kwargs: plugin_app(tmp_path / "hub", request.param, command,
                                                      sections, **kwargs)


def proxy_pid(hub: Hub) -> int:
    return int(Path(hub.proxy.pid_file).read_text())


def arguments(pid: int) -> list[str]:
    """The process's command line from ``--ip`` on (before it: node or python and a script)."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
    return argv[argv.index("--ip"):]


def environment(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def routes(hub: Hub, token: str | None = None) -> httpx.Response:
    token = hub.proxy.auth_token if token is None else token
    return httpx.get(f"{hub.proxy.api_url}/api/routes",
                     headers={"Authorization": f"token {token}"}, trust_env=False)


def log_in(client: TestClient, name: str) -> None:
    """Log in through the form, as a browser does (without following the redirect)."""
    xsrf = client.get("/hub/login").text.split('name="_xsrf" value="', 1)[1].split('"')[0]
    client.post("/hub/login", data={"username": name, "password": PASSWORD, "_xsrf": xsrf},
                follow_redirects=False)


@contextlib.contextmanager
def left_running(app: Starlette, token: str) -> Iterator[int]:
    """A proxy as a previous hub leaves it: on the hub's ports, in its pid file, not our child.

    Started through a shell that exits at once, so that, like a proxy whose
    hub is gone, its parent is init and not this test process.
    """
    hub: Hub = app.state.hub
    argv = shlex.join(hub.proxy.command_line())
    log = Path(hub.proxy.pid_file).with_suffix(".previous.log")
    shell = subprocess.run(["sh", "-c", f"{argv} >{log} 2>&1 & echo $!"], cwd=REPO,
                           env={**os.environ, "CONFIGPROXY_AUTH_TOKEN": token,
                                "PYTHONPATH": str(REPO)},
                           capture_output=True, text=True, check=True)
    pid = int(shell.stdout)
    Path(hub.proxy.pid_file).write_text(f"{pid}\n")
    wait_until(lambda: routes(hub, token).status_code == 200)
    try:
        yield pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# -- both plugins -------------------------------------------------------------------

def test_the_proxy_gets_jupyterhubs_flags_and_the_token(route_plugin):
    app = route_plugin()
    hub: Hub = app.state.hub
    with TestClient(app):
        pid = proxy_pid(hub)
        urls = hub.urls
        assert arguments(pid) == [
            "--ip", "127.0.0.1", "--port", str(urls.public_port),
            "--api-ip", "127.0.0.1", "--api-port", hub.proxy.api_url.rsplit(":", 1)[1],
            "--error-target", f"http://127.0.0.1:{urls.hub_bind_port}/hub/error",
            "--log-level", "info",
        ]
        assert environment(pid)["CONFIGPROXY_AUTH_TOKEN"] == hub.proxy.auth_token
        assert routes(hub).json()["/"]["hub"] is True


def test_with_tls_the_proxy_gets_the_key_and_certificate(route_plugin, tls_files):
    key, cert = tls_files
    app = route_plugin({"hub": {"ssl_key": key, "ssl_cert": cert}})
    hub: Hub = app.state.hub
    with TestClient(app):
        assert arguments(proxy_pid(hub))[-4:] == ["--ssl-key", key, "--ssl-cert", cert]
        health = httpx.get(f"https://127.0.0.1:{hub.urls.public_port}/_chp_healthz",
                           verify=False, trust_env=False)
        assert health.json() == {"status": "OK"}


def test_the_token_comes_from_configproxy_auth_token(route_plugin, monkeypatch):
    monkeypatch.setenv("CONFIGPROXY_AUTH_TOKEN", "from-the-environment")
    app = route_plugin()
    with TestClient(app):
        assert routes(app.state.hub, "from-the-environment").status_code == 200
        assert routes(app.state.hub, "another").status_code == 403


def test_a_token_in_hub_ini_wins_over_the_environment(route_plugin, monkeypatch):
    monkeypatch.setenv("CONFIGPROXY_AUTH_TOKEN", "from-the-environment")
    app = route_plugin({"proxy": {"auth_token": "from-hub-ini"}})
    with TestClient(app):
        pid = proxy_pid(app.state.hub)
        assert environment(pid)["CONFIGPROXY_AUTH_TOKEN"] == "from-hub-ini"
        assert routes(app.state.hub, "from-the-environment").status_code == 403


def test_a_killed_proxy_is_restarted_at_once_with_its_routes(route_plugin):
    # An interval far longer than the test: the restart comes from noticing the exit.
    app = route_plugin({"hub": {"proxy_check_interval": "600"}})
    hub: Hub = app.state.hub
    with TestClient(app):
        first = proxy_pid(hub)
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: proxy_pid(hub) != first and "/" in routes(hub).json())
        assert running(proxy_pid(hub))


def test_shutdown_stops_the_proxy_and_removes_its_pid_file(route_plugin):
    app = route_plugin()
    hub: Hub = app.state.hub
    with TestClient(app):
        pid = proxy_pid(hub)
    assert not running(pid)
    assert not Path(hub.proxy.pid_file).exists()


def test_a_proxy_left_running_that_takes_our_token_is_taken_over(route_plugin):
    app = route_plugin({"proxy": {"auth_token": TOKEN}})
    hub: Hub = app.state.hub
    with left_running(app, TOKEN) as previous, TestClient(app):
        assert proxy_pid(hub) == previous
        assert routes(hub).json()["/"]["hub"] is True
    # cleanup_proxy (the default): the hub stops the proxy it took over, too.
    wait_until(lambda: not running(previous))


def test_a_proxy_left_running_with_another_token_is_stopped_and_replaced(route_plugin):
    app = route_plugin({"proxy": {"auth_token": TOKEN}})
    hub: Hub = app.state.hub
    with left_running(app, "the-previous-hubs-token") as previous, TestClient(app):
        assert not running(previous)
        assert proxy_pid(hub) != previous
        assert routes(hub).status_code == 200


def test_traffic_through_the_proxy_becomes_the_servers_and_users_activity(route_plugin,
                                                                          installed):
    hook_probe.CALLS.clear()
    app = route_plugin({"hub": {"plugins": "probe", "last_activity_interval": "1",
                                "activity_resolution": "0"}}, installed=installed)
    hub: Hub = app.state.hub
    with TestClient(app) as client:
        log_in(client, "alice")
        headers = {"X-XSRFToken": client.cookies["_xsrf"]}
        assert client.post("/hub/api/users/alice/server", headers=headers).status_code == 201
        time.sleep(1)  # so that the traffic's time is clearly after the spawn's
        before_traffic = utcnow()
        page = httpx.get(f"http://127.0.0.1:{hub.urls.public_port}/user/alice/",
                         trust_env=False)
        assert "Hello, alice" in page.text

        def activity() -> tuple[datetime, datetime]:
            model = client.get("/hub/api/users/alice", headers=headers).json()
            return (datetime.fromisoformat(model["last_activity"]),
                    datetime.fromisoformat(model["servers"][""]["last_activity"]))

        wait_until(lambda: min(activity()) >= before_traffic, 10)
    assert "proxy_poll_duration_seconds" in hook_probe.calls("metrics")


@pytest.mark.parametrize(("name", "url", "client_id"), [
    # '@' kept in the URL as JupyterHub keeps it, but not in the client id (a cookie name)
    ("ann@example.org", "/user/ann@example.org/", "jupyterhub-user-ann%40example.org"),
    ("zoë", "/user/zo%C3%AB/", "jupyterhub-user-zo%C3%AB"),
])
def test_a_name_in_a_url_is_escaped_as_jupyterhub_does_routed_and_stays_routed(
        route_plugin, installed, name, url, client_id):
    app = route_plugin({"hub": {"plugins": "probe"}}, installed=installed)
    hub: Hub = app.state.hub
    with TestClient(app) as client:
        log_in(client, name)
        headers = {"X-XSRFToken": client.cookies["_xsrf"]}
        api = f"/hub/api/users/{quote(name)}"
        assert client.post(f"{api}/server", headers=headers).status_code == 201
        assert client.get(api, headers=headers).json()["servers"][""]["url"] == url
        public = f"http://127.0.0.1:{hub.urls.public_port}"
        assert f"Hello, {name}" in httpx.get(public + url).text
        assert httpx.get(f"{public}{url}env").json()["JUPYTERHUB_CLIENT_ID"] == client_id
        assert unquote(url).rstrip("/") in routes(hub).json()  # the proxy's decoded key
        hook_probe.CALLS.clear()
        client.portal.call(hub.routes.check_routes)
        # The route read back is the route wanted: nothing re-added, nothing deleted.
        assert not {"route.added", "route.removed"} & set(hook_probe.calls("log"))
        assert f"Hello, {name}" in httpx.get(public + url).text


# -- the configurable-http-proxy plugin ---------------------------------------------

def test_a_missing_command_says_how_to_install_configurable_http_proxy(tmp_path):
    app = plugin_app(tmp_path, CHP, [str(tmp_path / "no-such-proxy")])
    with pytest.raises(ProxyError, match=r"not found; install it with `npm install -g "
                                         r"configurable-http-proxy`"), TestClient(app):
        pass


def test_jupyterhubs_option_names_carry_over(load_ini):
    loaded = load_ini("[hub]\nproxy_class = configurable-http-proxy\n"
                      "proxy_cmd = /opt/chp/bin/configurable-http-proxy --no-x-forward\n"
                      "debug_proxy = true\n"
                      "[configurable-http-proxy]\ncheck_running_interval = 2\n"
                      "api_url = http://127.0.0.1:18001\nauth_token = s3cret\n")
    config = loaded.config
    options = config.section(CHP)
    assert options.command == ["/opt/chp/bin/configurable-http-proxy", "--no-x-forward"]
    assert options.debug is True
    assert config.hub.proxy_check_interval == 2
    assert config.proxy.api_url == "http://127.0.0.1:18001"
    assert config.proxy.auth_token == "s3cret"
    assert len(config.warnings) == 5
    assert options.pid_file == "jupyterhub-proxy.pid"  # JupyterHub's default


@pytest.mark.parametrize(("section", "level"), [({}, "info"), ({"log_level": "warn"}, "warn"),
                                                ({"log_level": "warn", "debug": "true"},
                                                 "debug")])
def test_log_level_and_debug_choose_the_proxys_log_level(tmp_path, section, level):
    app = plugin_app(tmp_path, CHP, ["configurable-http-proxy"], {CHP: section})
    line = app.state.hub.proxy.command_line()
    assert line[line.index("--log-level") + 1] == level
