"""Internal TLS (JupyterHub's ``internal_ssl``) through both proxies.

The proxy's REST API over mutual TLS (``--api-ssl-*``) and the proxy's own
TLS connections to https and wss backends and to the error target
(``--client-ssl-*``), run against kernel-proxy and configurable-http-proxy
(CHP) alike. Where the two differ, the test says so and pins both answers.
Certificates come from ``tls_certs``: a "right" CA signs every legitimate
party, an independent "wrong" CA signs impostors with the same names.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets.asyncio.server
import websockets.sync.client

from plugins.kernel_proxy.options import parse_options

from .conftest import (
    CHP,
    KERNEL_PROXY,
    REPO,
    BackendLoop,
    ProxyProcess,
    chp_command,
    raw_exchange,
)
from .tls_certs import InternalCerts, KeyPair, make_internal_certs

#: What the hub passes for the API under internal_ssl (after the key pair and CA).
REQUIRE_CLIENT_CERTS = ("--api-ssl-request-cert", "--api-ssl-reject-unauthorized")
#: The status a request gets when the backend's certificate does not verify.
#: CHP's answer is the reference (its handleProxyError(503)); kernel-proxy matches it.
BAD_BACKEND_STATUS = {CHP: 503, KERNEL_PROXY: 503}
WEBSOCKET_UPGRADE = (b"GET /user/alice/ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
                     b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> InternalCerts:
    return make_internal_certs(tmp_path_factory.mktemp("internal-ssl"))


def tls_client(certs: InternalCerts, pair: KeyPair | None = None) -> ssl.SSLContext:
    """A client context that trusts the right CA and shows ``pair``'s certificate, if any."""
    context = ssl.create_default_context(cafile=certs.right_ca.cert)
    if pair is not None:
        context.load_cert_chain(pair.cert, pair.key)
    return context


def api_flags(certs: InternalCerts, *switches: str) -> tuple[str, ...]:
    return ("--api-ssl-key", str(certs.proxy_api.key), "--api-ssl-cert", str(certs.proxy_api.cert),
            "--api-ssl-ca", str(certs.right_ca.cert), *switches)


def client_flags(certs: InternalCerts, *switches: str, key_pair: bool = True) -> tuple[str, ...]:
    pair = (("--client-ssl-key", str(certs.proxy_client.key),
             "--client-ssl-cert", str(certs.proxy_client.cert)) if key_pair else ())
    return (*pair, "--client-ssl-ca", str(certs.right_ca.cert), *switches)


class TlsApiProxy(ProxyProcess):
    """A proxy process whose REST API may serve TLS, reached with ``api_client``'s certificate."""

    def __init__(self, *args: Any, api_client: ssl.SSLContext | None, **kwargs: Any) -> None:
        self.api_client = api_client  # set first: the parent waits for the API through ``api``
        super().__init__(*args, **kwargs)
        if api_client is not None:
            self.api_url = f"https://127.0.0.1:{self.api_port}"

    def api(self, method: str, path: str, body: Any = None, *, token: str | None = None,
            content: bytes | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        if self.api_client is None:
            return super().api(method, path, body, token=token, content=content, headers=headers)
        token = self.token if token is None else token
        sent = {"Authorization": f"token {token}"} if token else {}
        sent.update(headers or {})
        return httpx.request(method, f"https://127.0.0.1:{self.api_port}/api/routes{path}",
                             json=body, content=content, headers=sent, trust_env=False,
                             verify=self.api_client)

    def api_answer(self, client: ssl.SSLContext) -> str:
        """The API's status line over a fresh connection with ``client``, or why there is none.

        Under TLS 1.3 a client's handshake is done before the server has
        checked the client's certificate, so a refusal shows on the first read:
        a TLS alert, a reset, or the end of the stream before any HTTP.
        """
        request = (b"GET /api/routes HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                   b"Authorization: token " + self.token.encode() + b"\r\n\r\n")
        received = b""
        try:
            with socket.create_connection(("127.0.0.1", self.api_port), timeout=5) as raw, \
                    client.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(request)
                while chunk := tls.recv(65536):
                    received += chunk
        except (ssl.SSLError, ConnectionError) as e:
            return f"refused at the TLS layer: {e!r}"
        return received.split(b"\r\n")[0].decode() or "refused at the TLS layer: closed"


ProxyStarter = Callable[..., TlsApiProxy]


@pytest.fixture(params=[KERNEL_PROXY, CHP])
def tls_proxy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProxyStarter]:
    """Starts a proxy of each implementation: ``tls_proxy(*flags, api_client=context)``."""
    implementation = request.param
    command = ([sys.executable, "-m", "plugins.kernel_proxy"] if implementation == KERNEL_PROXY
               else chp_command())
    started: list[TlsApiProxy] = []

    def start(*args: str, api_client: ssl.SSLContext | None = None) -> TlsApiProxy:
        log_path = tmp_path / f"{implementation}-{len(started)}.log"
        proxy = TlsApiProxy(implementation, command, args, "s3cret-proxy-token", log_path,
                            api_client=api_client)
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


# backends that speak TLS and require a client certificate

def server_context(pair: KeyPair, client_ca: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=client_ca)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(pair.cert, pair.key)
    return context


def common_name(peercert: dict[str, Any] | None) -> str | None:
    for rdn in (peercert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return None


class HttpsBackend:
    """An HTTPS/1.1 backend (asyncio's TLS) that requires a client certificate.

    It answers every request with JSON: ``target``, ``host`` and ``client``
    (the common name of the client certificate it verified).
    """

    def __init__(self, backends: BackendLoop, pair: KeyPair, client_ca: Path) -> None:
        self.backends = backends
        self.requests = 0
        self.server = backends.run(asyncio.start_server(
            self._serve, "127.0.0.1", 0, ssl=server_context(pair, client_ca)))
        self.url = f"https://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = common_name(writer.get_extra_info("peercert"))
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                self.requests += 1
                headers = dict(line.lower().split(": ", 1) for line in head[1:] if line)
                body = json.dumps({"target": head[0].split(" ")[1], "host": headers.get("host"),
                                   "client": client}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            return
        finally:
            writer.close()

    def close(self) -> None:
        self.backends.loop.call_soon_threadsafe(self.server.close)


class WssBackend:
    """A websocket echo server over TLS that requires a client certificate.

    ``whoami`` is answered with the request's path, ``client`` with the
    common name of the client certificate.
    """

    def __init__(self, backends: BackendLoop, pair: KeyPair, client_ca: Path) -> None:
        async def start() -> Any:
            return await websockets.asyncio.server.serve(
                self._echo, "127.0.0.1", 0, ssl=server_context(pair, client_ca))

        self.backends = backends
        self.server = backends.run(start())
        self.url = f"https://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    @staticmethod
    async def _echo(ws: Any) -> None:
        client = common_name(ws.transport.get_extra_info("peercert"))
        async for message in ws:
            answers = {"whoami": ws.request.path, "client": client}
            await ws.send(answers.get(message, message))

    def close(self) -> None:
        self.backends.loop.call_soon_threadsafe(self.server.close)


@pytest.fixture
def https_backend(backend_loop: BackendLoop,
                  certs: InternalCerts) -> Iterator[Callable[..., HttpsBackend]]:
    """Starts HTTPS backends: ``https_backend(server_key_pair)`` (default: the right one)."""
    servers: list[HttpsBackend] = []

    def start(pair: KeyPair | None = None) -> HttpsBackend:
        servers.append(HttpsBackend(backend_loop, pair or certs.backend, certs.right_ca.cert))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def wss_backend(backend_loop: BackendLoop,
                certs: InternalCerts) -> Iterator[Callable[..., WssBackend]]:
    """Starts websocket-over-TLS backends: ``wss_backend(server_key_pair)``."""
    servers: list[WssBackend] = []

    def start(pair: KeyPair | None = None) -> WssBackend:
        servers.append(WssBackend(backend_loop, pair or certs.backend, certs.right_ca.cert))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


# the REST API over mutual TLS

def test_the_api_answers_a_client_with_the_right_certificate(tls_proxy, certs):
    hub = tls_client(certs, certs.hub_client)
    proxy = tls_proxy(*api_flags(certs, *REQUIRE_CLIENT_CERTS), api_client=hub)
    assert proxy.api("GET", "").status_code == 200
    assert proxy.api_answer(hub) == "HTTP/1.1 200 OK"


def test_the_api_refuses_a_client_without_a_certificate_at_the_tls_layer(tls_proxy, certs):
    proxy = tls_proxy(*api_flags(certs, *REQUIRE_CLIENT_CERTS),
                      api_client=tls_client(certs, certs.hub_client))
    assert proxy.api_answer(tls_client(certs)).startswith("refused at the TLS layer")


def test_the_api_refuses_a_certificate_from_another_ca_at_the_tls_layer(tls_proxy, certs):
    proxy = tls_proxy(*api_flags(certs, *REQUIRE_CLIENT_CERTS),
                      api_client=tls_client(certs, certs.hub_client))
    impostor = tls_client(certs, certs.wrong_hub_client)
    assert proxy.api_answer(impostor).startswith("refused at the TLS layer")


def test_request_cert_alone_already_refuses_clients_without_a_valid_certificate(tls_proxy,
                                                                               certs):
    # node's rejectUnauthorized defaults to true, and CHP's command line can only
    # set it to true: asking for a certificate means requiring a valid one.
    proxy = tls_proxy(*api_flags(certs, "--api-ssl-request-cert"),
                      api_client=tls_client(certs, certs.hub_client))
    assert proxy.api_answer(tls_client(certs)).startswith("refused at the TLS layer")
    assert proxy.api_answer(tls_client(certs, certs.wrong_hub_client)).startswith("refused")


def test_reject_unauthorized_without_request_cert_asks_for_no_certificate(tls_proxy, certs):
    anyone = tls_client(certs)
    proxy = tls_proxy(*api_flags(certs, "--api-ssl-reject-unauthorized"), api_client=anyone)
    assert proxy.api_answer(anyone) == "HTTP/1.1 200 OK"
    assert proxy.api_answer(tls_client(certs, certs.wrong_hub_client)) == "HTTP/1.1 200 OK"


# the proxy's connections to https backends

def test_the_proxy_shows_its_client_certificate_to_an_https_backend(tls_proxy, certs,
                                                                    https_backend):
    backend = https_backend()
    proxy = tls_proxy(*client_flags(certs, "--client-ssl-request-cert",
                                    "--client-ssl-reject-unauthorized"))
    proxy.add_route("/user/alice", backend.url)
    response = proxy.get("/user/alice/api")
    assert response.status_code == 200
    assert response.json()["client"] == certs.proxy_client.common_name
    assert response.json()["target"] == "/user/alice/api"


def test_the_whole_internal_ssl_command_line_serves_api_and_backends(tls_proxy, certs,
                                                                     https_backend):
    backend = https_backend()
    proxy = tls_proxy(*api_flags(certs, *REQUIRE_CLIENT_CERTS),
                      *client_flags(certs, "--client-ssl-request-cert",
                                    "--client-ssl-reject-unauthorized"),
                      api_client=tls_client(certs, certs.hub_client))
    proxy.add_route("/", backend.url, jupyterhub=True)
    assert proxy.get("/hub/home").json()["client"] == certs.proxy_client.common_name


def test_a_backend_certificate_from_another_ca_is_refused(tls_proxy, certs, https_backend):
    impostor = https_backend(certs.wrong_backend)
    proxy = tls_proxy(*client_flags(certs, "--client-ssl-request-cert",
                                    "--client-ssl-reject-unauthorized"))
    proxy.add_route("/user/alice", impostor.url)
    assert proxy.get("/user/alice/api").status_code == BAD_BACKEND_STATUS[proxy.implementation]
    assert impostor.requests == 0


def test_a_backend_certificate_is_verified_even_without_reject_unauthorized(tls_proxy, certs,
                                                                            https_backend):
    # CHP gives every https target `secure: true`; its reject-unauthorized flag is unused.
    impostor = https_backend(certs.wrong_backend)
    proxy = tls_proxy(*client_flags(certs))
    proxy.add_route("/user/alice", impostor.url)
    assert proxy.get("/user/alice/api").status_code == 503
    assert impostor.requests == 0


def test_a_backend_certificate_must_name_the_target_host(tls_proxy, certs, https_backend):
    elsewhere = https_backend(certs.misnamed_backend)
    proxy = tls_proxy(*client_flags(certs, "--client-ssl-reject-unauthorized"))
    proxy.add_route("/user/alice", elsewhere.url)
    assert proxy.get("/user/alice/api").status_code == 503
    assert elsewhere.requests == 0


def test_which_name_the_backend_certificate_is_checked_against(tls_proxy, certs, https_backend):
    # A difference, pinned on purpose. CHP (node's https agent) checks the backend's
    # certificate against the request's Host header when that is a DNS name, so a
    # hub reached as example.org needs that name in every internal certificate.
    # kernel-proxy checks the address it connects to: the target URL's host.
    backend = https_backend()  # IP:127.0.0.1 and DNS:localhost, not example.org
    proxy = tls_proxy(*client_flags(certs, "--client-ssl-reject-unauthorized"))
    proxy.add_route("/user/alice", backend.url)
    response = proxy.get("/user/alice/api", headers={"Host": "example.org"})
    assert response.status_code == {CHP: 503, KERNEL_PROXY: 200}[proxy.implementation]


def test_a_backend_requiring_client_certificates_refuses_a_proxy_without_one(
        tls_proxy, certs, https_backend):
    backend = https_backend()
    proxy = tls_proxy(*client_flags(certs, key_pair=False))
    proxy.add_route("/user/alice", backend.url)
    assert proxy.get("/user/alice/api").status_code == 503
    assert backend.requests == 0


def test_error_pages_come_from_an_https_error_target_with_the_client_certificate(
        tls_proxy, certs, https_backend):
    hub = https_backend()
    proxy = tls_proxy(*client_flags(certs), "--error-target", f"{hub.url}/hub/error")
    response = proxy.get("/nowhere")
    assert response.status_code == 404
    assert response.json()["target"] == "/hub/error/404?url=%2Fnowhere"
    assert response.json()["client"] == certs.proxy_client.common_name


# websockets to wss backends

def test_a_websocket_reaches_a_wss_backend_with_the_client_certificate(tls_proxy, certs,
                                                                       wss_backend):
    backend = wss_backend()
    proxy = tls_proxy(*client_flags(certs, "--client-ssl-reject-unauthorized"))
    proxy.add_route("/user/alice", backend.url)
    with websockets.sync.client.connect(f"ws://127.0.0.1:{proxy.port}/user/alice/ws") as ws:
        ws.send("client")
        assert ws.recv(timeout=5) == certs.proxy_client.common_name
        ws.send("whoami")
        assert ws.recv(timeout=5) == "/user/alice/ws"
        ws.send("x" * 100_000)
        assert ws.recv(timeout=5) == "x" * 100_000


def test_a_websocket_to_a_wss_backend_from_another_ca_is_503(tls_proxy, certs, wss_backend):
    impostor = wss_backend(certs.wrong_backend)
    proxy = tls_proxy(*client_flags(certs, "--client-ssl-reject-unauthorized"))
    proxy.add_route("/user/alice", impostor.url)
    assert raw_exchange(proxy.port, WEBSOCKET_UPGRADE).startswith(b"HTTP/1.1 503")


# start-up errors (kernel-proxy's own: CHP starts with a key and no certificate,
# then fails every API handshake, and dies with a node stack trace on a missing file)

def test_api_ssl_key_without_api_ssl_cert_is_a_start_up_error(certs):
    done = subprocess.run([sys.executable, "-m", "plugins.kernel_proxy",
                           "--api-ssl-key", str(certs.proxy_api.key)],
                          cwd=REPO, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "--api-ssl-key and --api-ssl-cert go together" in done.stderr


def start_up_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        parse_options(argv)
    assert exited.value.code == 2
    return capsys.readouterr().err


def test_client_ssl_key_without_client_ssl_cert_is_a_start_up_error(certs, capsys):
    error = start_up_error(["--client-ssl-key", str(certs.proxy_client.key)], capsys)
    assert "--client-ssl-key and --client-ssl-cert go together" in error


@pytest.mark.parametrize("flag", ["api-ssl-ca", "client-ssl-ca", "client-ssl-cert",
                                  "api-ssl-key"])
def test_an_unreadable_file_is_a_start_up_error_naming_flag_and_file(certs, capsys, tmp_path,
                                                                     flag):
    files = {"api-ssl-key": certs.proxy_api.key, "api-ssl-cert": certs.proxy_api.cert,
             "api-ssl-ca": certs.right_ca.cert, "client-ssl-key": certs.proxy_client.key,
             "client-ssl-cert": certs.proxy_client.cert, "client-ssl-ca": certs.right_ca.cert}
    files[flag] = tmp_path / "missing.pem"
    side = flag.split("-")[0]
    argv = [item for name, path in files.items() if name.startswith(side)
            for item in (f"--{name}", str(path))]
    error = start_up_error(argv, capsys)
    assert f"--{flag} {tmp_path / 'missing.pem'}: cannot read it" in error


def test_a_key_that_is_not_the_certificates_is_a_start_up_error(certs, capsys):
    error = start_up_error(["--api-ssl-key", str(certs.hub_client.key),
                            "--api-ssl-cert", str(certs.proxy_api.cert)], capsys)
    assert f"--api-ssl-key {certs.hub_client.key} is not the key of --api-ssl-cert" in error


def test_a_ca_file_without_certificates_is_a_start_up_error(certs, capsys):
    error = start_up_error(["--client-ssl-ca", str(certs.proxy_client.key)], capsys)
    assert f"--client-ssl-ca {certs.proxy_client.key}: expected PEM CA certificates" in error


# what the flags build (each context once, at start-up)

def test_request_cert_makes_the_api_require_client_certificates(certs):
    assert parse_options(list(api_flags(certs))).api_tls.verify_mode == ssl.CERT_NONE
    required = parse_options(list(api_flags(certs, "--api-ssl-request-cert")))
    assert required.api_tls.verify_mode == ssl.CERT_REQUIRED


def test_the_client_context_always_verifies_certificate_and_host(certs):
    for switches in ((), ("--client-ssl-request-cert", "--client-ssl-reject-unauthorized")):
        context = parse_options(list(client_flags(certs, *switches))).client_tls
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_without_tls_flags_no_context_is_built():
    options = parse_options([])
    assert options.api_tls is None and options.client_tls is None
