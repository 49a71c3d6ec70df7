"""Faults around the proxy, with a real hub (`kernel serve`), real proxies and real servers.

The proxy dies (the hub restarts it and every server is reachable again), an
external proxy dies and comes back or outlives the hub, a user's server dies
in the middle of a request, and one user's slow client or 1 GB transfer runs
next to another user's requests. Everything goes through the public port.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from kernel.testing.hub import (
    HubClient,
    HubProcess,
    default_sections,
    free_port,
    merge,
    wait_until,
)
from plugins.support.proxy_process import running
from tests.proxy.conftest import CHP, KERNEL_PROXY, REPO, TOKEN, chp_command

#: A user's server for these tests: kernel.testing.mockserver, plus ``{prefix}sleep``
#: (takes the request, then never answers) and ``{prefix}download?bytes=N``.
FAULT_SERVER = '''
import os, time
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from kernel.testing.mockserver import MockServerHandler

BLOCK = memoryview(b"x" * (1 << 20))

class FaultServer(MockServerHandler):
    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == self.prefix + "sleep":
            open("sleeping", "w").close()
            time.sleep(600)
        elif url.path == self.prefix + "download":
            size = int(parse_qs(url.query)["bytes"][0])
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            while size > 0:
                size -= self.wfile.write(BLOCK[:min(size, len(BLOCK))])
        else:
            super().do_GET()

url = urlsplit(os.environ["JUPYTERHUB_SERVICE_URL"])
FaultServer.prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
ThreadingHTTPServer((url.hostname, url.port), FaultServer).serve_forever()
'''

GIGABYTE = 1_000_000_000


@contextlib.contextmanager
def hub_routed_by(directory: Path, plugin: str = KERNEL_PROXY,
                  sections: dict[str, dict[str, str]] | None = None, *,
                  proxy_ports: tuple[int, int] | None = None) -> Iterator[HubProcess]:
    """``running_hub`` with the fault server, a choice of proxy plugin, and of its ports.

    ``running_hub`` always writes a [kernel-proxy] section, which is an error
    when another proxy plugin is chosen; this drops it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "fault_server.py"
    script.write_text(FAULT_SERVER)
    public_port, api_port = proxy_ports or (free_port(), free_port())
    hub = HubProcess(directory, public_port, free_port(), api_port)
    merged = merge(default_sections(directory, hub),
                   {"spawner": {"cmd": f"{sys.executable} {script}"}})
    if plugin != KERNEL_PROXY:
        merged = merge(merged, {"hub": {"proxy_class": plugin},
                                plugin: {"command": shlex.join(chp_command()),
                                         "pid_file": str(directory / "proxy.pid")}})
    hub.sections = merge(merged, sections)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def start_server(hub: HubProcess, name: str) -> HubClient:
    """Log ``name`` in and start their server; a client with their cookies."""
    client = hub.client()
    client.login(name)
    response = client.post(f"hub/api/users/{name}/server",
                           headers={"X-XSRFToken": client.cookies["_xsrf"]})
    assert response.status_code in (201, 202), response.text
    wait_until(lambda: f"Hello, {name}" in client.get(f"user/{name}/").text, 20)
    return client


def answers(client: HubClient, name: str) -> bool:
    """Whether ``name``'s server answers through the proxy right now."""
    try:
        return f"Hello, {name}" in client.get(f"user/{name}/", timeout=2).text
    except httpx.TransportError:
        return False


@pytest.fixture
def external_proxy(tmp_path: Path) -> Iterator[Callable[[int, int], subprocess.Popen]]:
    """Runs kernel-proxy by hand (as systemd would) with TOKEN: ``external_proxy(port, api)``.

    The processes are killed after the test, once its hub has stopped.
    """
    started: list[subprocess.Popen] = []

    def start(port: int, api_port: int) -> subprocess.Popen:
        with open(tmp_path / "external-proxy.log", "ab") as log:
            started.append(subprocess.Popen(
                [sys.executable, "-m", "plugins.kernel_proxy", "--ip", "127.0.0.1",
                 "--port", str(port), "--api-ip", "127.0.0.1", "--api-port", str(api_port)],
                cwd=REPO, env={**os.environ, "CONFIGPROXY_AUTH_TOKEN": TOKEN}, stdout=log,
                stderr=subprocess.STDOUT))
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{api_port}/api/routes",
                                     headers={"Authorization": f"token {TOKEN}"}).is_success,
                   15)
        return started[-1]

    yield start
    for process in started:
        process.kill()
        process.wait()


def body_length(url: str) -> int:
    """GET ``url`` and count the body's bytes as they stream in."""
    with httpx.stream("GET", url, timeout=60) as response:
        return sum(len(chunk) for chunk in response.iter_raw(1 << 20))


#: The hub drives a proxy it did not start.
EXTERNAL = {"hub": {"proxy_check_interval": "1"},
            "proxy": {"should_start": "false", "auth_token": TOKEN}}


@pytest.mark.parametrize("plugin", [KERNEL_PROXY, CHP])
def test_a_killed_proxy_is_restarted_and_every_server_is_reachable_again(tmp_path, plugin):
    with hub_routed_by(tmp_path / "hub", plugin, {"hub": {"proxy_check_interval": "1"}}) as hub:
        alice, bob = start_server(hub, "alice"), start_server(hub, "bob")
        pid_file = hub.directory / "proxy.pid"
        killed = int(pid_file.read_text())
        os.kill(killed, signal.SIGKILL)
        # The hub restarts the proxy as soon as it sees it exit, within one interval at most;
        # the timeout leaves room for the proxy's own start-up on a busy machine.
        wait_until(lambda: answers(alice, "alice") and answers(bob, "bob"), 10)
        assert int(pid_file.read_text()) != killed


def test_an_external_proxy_that_comes_back_gets_every_route_back(tmp_path, external_proxy):
    ports = free_port(), free_port()
    proxy = external_proxy(*ports)
    with hub_routed_by(tmp_path / "hub", sections=EXTERNAL, proxy_ports=ports) as hub:
        alice = start_server(hub, "alice")
        proxy.kill()
        proxy.wait()
        external_proxy(*ports)  # restarted by its operator, with no routes
        wait_until(lambda: answers(alice, "alice"), 10)


def test_an_external_proxy_serves_running_servers_while_the_hub_is_down(tmp_path,
                                                                       external_proxy):
    ports = free_port(), free_port()
    proxy = external_proxy(*ports)
    sections = merge(EXTERNAL, {"hub": {"cleanup_servers": "false"}})
    with hub_routed_by(tmp_path / "hub", sections=sections, proxy_ports=ports) as hub:
        alice = start_server(hub, "alice")
        server = int(alice.get("user/alice/env").json()["pid"])
        assert hub.stop() == 0
        assert proxy.poll() is None
        assert answers(alice, "alice")

        hub.start()
        assert alice.get("hub/api/user").json()["servers"][""]["ready"] is True
        assert int(alice.get("user/alice/env").json()["pid"]) == server
    os.kill(server, signal.SIGKILL)


def test_a_hub_stops_its_servers_and_exits_promptly_while_an_external_proxy_is_down(
        tmp_path, external_proxy):
    ports = free_port(), free_port()
    proxy = external_proxy(*ports)
    with hub_routed_by(tmp_path / "hub", sections=EXTERNAL, proxy_ports=ports) as hub:
        servers = [int(start_server(hub, name).get(f"user/{name}/env").json()["pid"])
                   for name in ("alice", "bob")]
        proxy.kill()
        proxy.wait()
        # Route removals give up after a few seconds rather than retrying for the proxy
        # API's 30 s per call, and every server is stopped all the same: the exit comes
        # well before a service manager's stop timeout (systemd's 90 s) would kill the hub.
        assert hub.stop(timeout=30) == 0
    assert not any(running(pid) for pid in servers)
    assert "Could not remove the route /user/alice/" in hub.log


def test_a_server_killed_mid_request_gives_a_clean_502_or_503_and_others_carry_on(tmp_path):
    with hub_routed_by(tmp_path / "hub") as hub:
        alice, bob = start_server(hub, "alice"), start_server(hub, "bob")
        facts = alice.get("user/alice/env").json()
        answered: list[httpx.Response] = []
        request = threading.Thread(
            target=lambda: answered.append(alice.get("user/alice/sleep", timeout=30)))
        request.start()
        wait_until(lambda: Path(facts["cwd"], "sleeping").exists(), 10)
        assert answers(bob, "bob")
        os.kill(int(facts["pid"]), signal.SIGKILL)
        request.join(30)
        assert answered[0].status_code in (502, 503)
        assert answers(bob, "bob")


def test_a_slow_client_and_a_1_gb_transfer_do_not_stall_another_user(tmp_path):
    with hub_routed_by(tmp_path / "hub") as hub:
        start_server(hub, "alice")
        bob = start_server(hub, "bob")
        download = f"/user/alice/download?bytes={GIGABYTE}"
        with socket.create_connection(("127.0.0.1", hub.public_port)) as slow:
            # A client that asks for a gigabyte and then reads (almost) nothing.
            slow.sendall(f"GET {download} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert slow.recv(65536).split(b"\r\n", 1)[0].endswith(b" 200 OK")
            received: list[int] = []
            transfer = threading.Thread(
                target=lambda: received.append(body_length(hub.url + download[1:])))
            transfer.start()
            served = 0
            while transfer.is_alive() or served == 0:
                # A stall would show as a timeout here.
                assert "Hello, bob" in bob.get("user/bob/", timeout=5).text
                served += 1
            transfer.join()
        assert received == [GIGABYTE]
        assert served > 1
