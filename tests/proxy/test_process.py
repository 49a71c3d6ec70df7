"""kernel-proxy as a process: signals, exit status, its command line, and what it adds to CHP."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

from .conftest import REPO


def test_sigterm_exits_with_status_0(kernel_proxy):
    assert kernel_proxy().stop(signal.SIGTERM) == 0


def test_sigint_exits_with_status_0(kernel_proxy):
    assert kernel_proxy().stop(signal.SIGINT) == 0


def test_sigterm_exits_with_status_0_while_connections_are_open(kernel_proxy, backend):
    proxy = kernel_proxy()
    proxy.add_route("/", backend.url)
    with socket.create_connection(("127.0.0.1", proxy.port)) as idle:
        idle.sendall(b"GET /half-a-request HTTP/1.1\r\n")
        assert proxy.stop(signal.SIGTERM) == 0


def test_the_token_scheme_is_case_insensitive(kernel_proxy):
    proxy = kernel_proxy()
    response = proxy.api("GET", "", token="", headers={"Authorization": f"Token {proxy.token}"})
    assert response.status_code == 200


def test_unimplemented_chp_flags_are_accepted_and_logged(kernel_proxy):
    proxy = kernel_proxy("--log-level", "debug", "--storage-backend", "redis", "--insecure",
                         "--protocol-rewrite", "https", "--metrics-ip", "127.0.0.1",
                         "--client-ssl-request-cert",
                         "--keep-alive-timeout", "5000", "--metrics-port", "9999")
    log = proxy.log()
    for flag in ("--storage-backend redis", "--insecure", "--protocol-rewrite https",
                 "--metrics-ip 127.0.0.1", "--client-ssl-request-cert", "--metrics-port 9999"):
        assert f"Ignoring {flag}" in log


def test_unix_socket_flags_are_refused():
    done = subprocess.run([sys.executable, "-m", "plugins.kernel_proxy", "--socket", "/tmp/s"],
                          cwd=REPO, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "--socket is not supported" in done.stderr


def test_a_port_in_use_exits_with_status_1(kernel_proxy):
    first = kernel_proxy()
    done = subprocess.run(
        [sys.executable, "-m", "plugins.kernel_proxy", "--ip", "127.0.0.1",
         "--port", str(first.port), "--api-port", str(first.api_port)],
        cwd=REPO, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "cannot start" in done.stderr
