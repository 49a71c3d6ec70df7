"""internal_ssl end to end: a real hub, proxy, jupyterhub-singleuser and service over
mutual TLS, and every internal endpoint refusing clients without the right certificate.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kernel.testing.hub import HubProcess, free_port, running_hub
from kernel.testing.infra import singleuser_venv_file
from kernel.testing.kernels import execute, start_kernel
from kernel.tls import CertFiles
from tests.e2e.test_singleuser import admin, sections, start, token_for
from tests.internal_ssl.helpers import fingerprint, make_authority, sign_leaf
from tests.proxy.conftest import chp_command
from tests.services.conftest import SERVICE


def tls_sections(directory: Path, singleuser_cmd: str, service_python: str,
                 proxy_class: str, **extra: dict[str, str]) -> dict[str, dict[str, str]]:
    hub = {"plugins": "internal-ssl", "internal_ssl": "true",
           "internal_certs_location": str(directory / "internal-ssl"),
           "proxy_class": proxy_class, **extra.pop("hub", {})}
    config = sections(singleuser_cmd, hub=hub, **extra)
    config["service:whoami"] = {"command": f"{service_python} {SERVICE}",
                                "url": f"https://127.0.0.1:{free_port()}"}
    if proxy_class == "configurable-http-proxy":
        config["configurable-http-proxy"] = {"command": chp_command()[0],
                                             "pid_file": str(directory / "chp.pid")}
    return config


@pytest.fixture(scope="module")
def service_python() -> str:
    return str(singleuser_venv_file("python"))


@pytest.fixture(params=["kernel-proxy", "configurable-http-proxy"])
def tls_hub(request, tmp_path, singleuser_cmd, service_python, unix_user
            ) -> Iterator[HubProcess]:
    config = tls_sections(tmp_path, singleuser_cmd, service_python, request.param)
    with running_hub(tmp_path / "hub", config, timeout=60) as hub:
        yield hub


def hub_files(hub: HubProcess) -> CertFiles:
    """The hub's own certificate: what a trusted internal client presents."""
    store = Path(hub.sections["hub"]["internal_certs_location"])
    return CertFiles(store / "hub-internal" / "hub-internal.key",
                     store / "hub-internal" / "hub-internal.crt", store / "hub-ca_trust.crt")


def test_a_kernel_runs_through_the_proxy_over_internal_tls(tls_hub, unix_user):
    alice = unix_user()
    start(tls_hub, alice.pw_name)
    token = token_for(tls_hub, alice.pw_name)
    server_url = f"{tls_hub.url}user/{alice.pw_name}/"
    assert httpx.get(f"{server_url}api/status", timeout=30,
                     headers={"Authorization": f"token {token}"}).status_code == 200
    kernel = start_kernel(server_url, token)
    assert execute(server_url, token, kernel, "1+1") == "2"
    # The server serves HTTPS with its own certificate, readable by alice alone.
    with httpx.Client(verify=hub_files(tls_hub).client_context()) as client:
        routes = client.get(f"{proxy_api(tls_hub)}/api/routes",
                            headers={"Authorization": f"token {proxy_token(tls_hub)}"}).json()
    assert routes[f"/user/{alice.pw_name}"]["target"].startswith("https://127.0.0.1:")
    certs = Path(alice.pw_dir) / ".jupyterhub" / "jupyterhub-certs"
    assert certs.stat().st_uid == alice.pw_uid and certs.stat().st_mode & 0o777 == 0o700
    # The hub's API is reached over https by the server (its own environment says so).
    pid = admin(tls_hub).get(f"/users/{alice.pw_name}/server").json()["state"]["pid"]
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert f"JUPYTERHUB_SSL_CERTFILE={certs}/".encode() in b"\n".join(environ)
    assert any(v.startswith(b"JUPYTERHUB_API_URL=https://") for v in environ)


def test_every_internal_endpoint_refuses_a_client_without_the_right_certificate(
        tmp_path, singleuser_cmd, service_python, unix_user):
    alice = unix_user()
    config = tls_sections(tmp_path, singleuser_cmd, service_python, "kernel-proxy")
    with running_hub(tmp_path / "hub", config, timeout=60) as hub:
        start(hub, alice.pw_name)
        trusted = hub_files(hub)
        with httpx.Client(verify=trusted.client_context()) as client:
            routes = client.get(f"{proxy_api(hub)}/api/routes",
                                headers={"Authorization": f"token {proxy_token(hub)}"}).json()
        endpoints = {
            "hub API": f"https://127.0.0.1:{hub.hub_port}/hub/api/",
            "proxy API": f"{proxy_api(hub)}/api/routes",
            "a user's server": routes[f"/user/{alice.pw_name}"]["target"],
            "a service": hub.sections["service:whoami"]["url"],
        }
        key, cert = make_authority(tmp_path / "stranger", "stranger-ca")
        leaf = sign_leaf(key, cert, tmp_path / "stranger" / "stranger.crt")
        stranger = CertFiles(leaf.with_suffix(".key"), leaf, trusted.ca)
        for where, url in endpoints.items():
            assert answers_http(url, trusted), f"{where} should answer the hub's certificate"
            assert not answers_http(url, None, trusted.ca), f"{where} answered no certificate"
            assert not answers_http(url, stranger), f"{where} answered a stranger"


def test_recreated_certificates_keep_servers_started_before_reachable(
        tmp_path, singleuser_cmd, service_python, unix_user):
    alice = unix_user()
    config = tls_sections(tmp_path, singleuser_cmd, service_python, "kernel-proxy",
                          hub={"cleanup_servers": "false"})
    with running_hub(tmp_path / "hub", config, timeout=60) as hub:
        start(hub, alice.pw_name)
        token = token_for(hub, alice.pw_name)
        server_url = f"{hub.url}user/{alice.pw_name}/"
        kernel = start_kernel(server_url, token)
        assert execute(server_url, token, kernel, "x = 20; 2 * x") == "40"
        before = fingerprint(hub_files(hub).cert)
        assert hub.stop() == 0
        hub.sections["hub"]["recreate_internal_certs"] = "true"
        hub.start(timeout=90)
        assert fingerprint(hub_files(hub).cert) != before
        # The hub and the restarted proxy, with new certificates, still reach the server
        # started with the old ones: its kernel and its variables are still there.
        assert admin(hub).get(f"/users/{alice.pw_name}").json()["server"]
        assert execute(server_url, token, kernel, "x + 2") == "22"


# -- helpers ----------------------------------------------------------------------------


def proxy_api(hub: HubProcess) -> str:
    return f"https://127.0.0.1:{hub.proxy_api_port}"


def proxy_token(hub: HubProcess) -> str:
    """The proxy's API token, as the hub handed it to the proxy process."""
    pid_file = (hub.sections.get("configurable-http-proxy", {}).get("pid_file")
                or hub.sections["kernel-proxy"]["pid_file"])
    pid = int(Path(pid_file).read_text())
    for variable in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
        if variable.startswith(b"CONFIGPROXY_AUTH_TOKEN="):
            return variable.split(b"=", 1)[1].decode()
    raise AssertionError("the proxy has no CONFIGPROXY_AUTH_TOKEN")


def answers_http(url: str, client: CertFiles | None, trust: Path | None = None) -> bool:
    """Whether an HTTPS request with this client certificate (or none) gets any HTTP
    answer; False when the TLS layer refuses it. The server's certificate is checked
    against ``trust`` (default: the client's bundle), so only the client is at fault."""
    parts = httpx.URL(url)
    context = ssl.create_default_context(cafile=str(trust or client.ca))
    if client is not None:
        context.load_cert_chain(str(client.cert), str(client.key))
    try:
        with socket.create_connection((parts.host, parts.port), timeout=10) as raw, \
                context.wrap_socket(raw, server_hostname=parts.host) as tls:
            tls.sendall(f"GET {parts.raw_path.decode()} HTTP/1.1\r\nHost: {parts.host}\r\n"
                        "Connection: close\r\n\r\n".encode())
            return tls.recv(16).startswith(b"HTTP/")
    except (ssl.SSLError, ConnectionError, OSError):
        return False

