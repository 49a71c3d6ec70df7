"""Conformance of the flags --custom-header, --proxy-timeout, --error-path and --redirect-port.

Every test using ``proxy_process`` or ``proxy_refusal`` runs against
kernel-proxy and configurable-http-proxy (CHP) alike. The few that use
``kernel_proxy`` check a deliberate difference from CHP, named in a comment.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest
import websockets.sync.client

from .conftest import ProxyProcess, ProxyStarter, free_port, raw_exchange, seen_by

# --custom-header

def test_custom_headers_reach_the_backend(proxy_process, backend):
    proxy = proxy_process("--custom-header", "X-Hub-Secret: s3cret",
                          "--custom-header", "  X-Spaced :  trimmed  ")
    proxy.add_route("/", backend.url)
    headers = seen_by(backend, proxy.get("/user/alice/"))["headers"]
    assert (headers["x-hub-secret"], headers["x-spaced"]) == ("s3cret", "trimmed")


def test_custom_headers_reach_a_websocket_backend(proxy_process, ws_backend):
    proxy = proxy_process("--custom-header", "X-Hub-Secret: s3cret")
    proxy.add_route("/", ws_backend.url)
    with websockets.sync.client.connect(f"ws://127.0.0.1:{proxy.port}/user/alice/ws") as ws:
        ws.send("headers")
        assert json.loads(ws.recv(timeout=5))["x-hub-secret"] == "s3cret"


def test_a_custom_header_replaces_the_clients_header_of_that_name(proxy_process, backend):
    proxy = proxy_process("--custom-header", "x-hub-secret: s3cret")
    proxy.add_route("/", backend.url)
    response = proxy.get("/", headers={"X-Hub-Secret": "spoofed"})
    assert seen_by(backend, response)["headers"]["x-hub-secret"] == "s3cret"


def test_a_custom_header_replaces_the_clients_header_whatever_the_case(proxy_process, backend):
    proxy = proxy_process("--custom-header", "X-Hub-Secret: s3cret")
    proxy.add_route("/", backend.url)
    response = proxy.get("/", headers=[("x-hub-secret", "spoofed"), ("X-HUB-SECRET", "again")])
    assert seen_by(backend, response)["headers"]["x-hub-secret"] == "s3cret"


@pytest.mark.parametrize("header", ["X-No-Colon", ": no name", "  :x"])
def test_a_custom_header_needs_a_name_and_a_colon(proxy_refusal, header):
    done = proxy_refusal("--custom-header", header)
    assert done.returncode == 1
    assert "A colon was expected in custom header: " + header.strip() in done.stdout


# --proxy-timeout

def test_a_target_silent_past_the_proxy_timeout_is_503(proxy_process, backend):
    proxy = proxy_process("--proxy-timeout", "300")
    proxy.add_route("/", backend.url)
    started = time.monotonic()
    assert proxy.get("/never?sleep=60", timeout=10).status_code == 503
    assert time.monotonic() - started < 5
    seen_by(backend, proxy.get("/still/serving"))


def test_a_response_stalled_past_the_proxy_timeout_is_cut_off(kernel_proxy, backend):
    # Deliberately unlike CHP, which drops its connection to the target but
    # leaves the client waiting for the rest of a body that never comes.
    proxy = kernel_proxy("--proxy-timeout", "300")
    proxy.add_route("/", backend.url)
    with pytest.raises(httpx.RemoteProtocolError):
        proxy.get("/half?stall_after=1000", timeout=10)  # the connection ends mid-body


def test_a_target_answering_within_the_proxy_timeout_is_relayed(proxy_process, backend):
    proxy = proxy_process("--proxy-timeout", "2000")
    proxy.add_route("/", backend.url)
    seen_by(backend, proxy.get("/slowish?sleep=0.3"))


def test_the_proxy_timeout_spares_idle_keep_alive_connections(proxy_process, backend):
    proxy = proxy_process("--proxy-timeout", "200")
    proxy.add_route("/", backend.url)
    with httpx.Client(base_url=proxy.public_url, trust_env=False) as client:
        first = seen_by(backend, client.get("/one"))
        time.sleep(0.8)
        second = seen_by(backend, client.get("/two"))
    assert first["connection"] == second["connection"]


def test_the_proxy_timeout_spares_a_slow_websocket_handshake(proxy_process, ws_backend):
    proxy = proxy_process("--proxy-timeout", "200")
    proxy.add_route("/", ws_backend.url)
    with websockets.sync.client.connect(f"ws://127.0.0.1:{proxy.port}/ws?handshake_delay=0.8",
                                        open_timeout=10) as ws:
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"


def test_the_proxy_timeout_spares_quiet_websockets(proxy_process, ws_backend):
    proxy = proxy_process("--proxy-timeout", "200")
    proxy.add_route("/", ws_backend.url)
    with websockets.sync.client.connect(f"ws://127.0.0.1:{proxy.port}/ws") as ws:
        time.sleep(0.8)
        ws.send("still there?")
        assert ws.recv(timeout=5) == "still there?"


# --error-path

def test_error_path_answers_no_route_with_its_404_page(proxy_process, tmp_path):
    (tmp_path / "404.html").write_text("<h1>No such page</h1>")
    (tmp_path / "error.html").write_text("<h1>Something went wrong</h1>")
    proxy = proxy_process("--error-path", str(tmp_path))
    response = proxy.get("/user/nobody/")
    assert (response.status_code, response.text) == (404, "<h1>No such page</h1>")
    assert response.headers["content-type"] == "text/html"


def test_error_path_answers_a_dead_target_with_its_503_page(proxy_process, tmp_path, dead_url):
    (tmp_path / "503.html").write_text("<h1>Starting up</h1>")
    proxy = proxy_process("--error-path", str(tmp_path))
    proxy.add_route("/user/alice", dead_url)
    response = proxy.get("/user/alice/tree")
    assert (response.status_code, response.text) == (503, "<h1>Starting up</h1>")
    assert response.headers["content-type"] == "text/html"


def test_error_path_falls_back_to_error_html(proxy_process, tmp_path):
    (tmp_path / "503.html").write_text("<h1>Starting up</h1>")
    (tmp_path / "error.html").write_text("<h1>Something went wrong</h1>")
    proxy = proxy_process("--error-path", str(tmp_path))
    response = proxy.get("/user/nobody/")
    assert (response.status_code, response.text) == (404, "<h1>Something went wrong</h1>")
    assert response.headers["content-type"] == "text/html"


def test_error_path_without_a_page_gives_the_plain_answer(proxy_process, tmp_path):
    proxy = proxy_process("--error-path", str(tmp_path))
    response = proxy.get("/user/nobody/")
    assert (response.status_code, response.text) == (404, "Not Found")


def test_error_pages_are_read_when_the_error_happens(proxy_process, tmp_path):
    proxy = proxy_process("--error-path", str(tmp_path))
    (tmp_path / "404.html").write_text("<h1>Added later</h1>")
    assert proxy.get("/user/nobody/").text == "<h1>Added later</h1>"


def test_error_path_keeps_websocket_errors_bare(proxy_process, tmp_path, dead_url):
    (tmp_path / "503.html").write_text("<h1>Starting up</h1>")
    proxy = proxy_process("--error-path", str(tmp_path))
    proxy.add_route("/user/alice", dead_url)
    answer = raw_exchange(proxy.port, b"GET /user/alice/ws HTTP/1.1\r\nHost: h\r\n"
                                      b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
                                      b"Sec-WebSocket-Version: 13\r\n"
                                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 503") and b"Starting up" not in answer


def test_error_target_and_error_path_are_refused_together(proxy_refusal, tmp_path, dead_url):
    done = proxy_refusal("--error-target", dead_url, "--error-path", str(tmp_path))
    assert done.returncode == 1
    assert "Cannot specify both error-target and error-path. Pick one." in done.stdout


# --redirect-port and --redirect-to

def redirect(port: int, request: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    """Send one raw request to the redirect listener: (status, headers, body)."""
    answer = raw_exchange(port, request)
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.split(b"\r\n")
    headers = dict(line.lower().split(b": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, body


def tls_proxy_redirecting(start: ProxyStarter, tls_files: tuple[str, str],
                          *flags: str) -> tuple[ProxyProcess, int]:
    """A TLS proxy with a redirect listener: (the proxy, the redirect port)."""
    key, cert = tls_files
    port = free_port()
    proxy = start("--ssl-key", key, "--ssl-cert", cert, "--redirect-port", str(port), *flags)
    proxy.wait_listening(port)
    return proxy, port


def test_the_redirect_port_sends_clients_to_https_on_the_proxy_port(proxy_process, tls_files):
    proxy, port = tls_proxy_redirecting(proxy_process, tls_files)
    status, headers, _ = redirect(port, b"GET /user/alice/lab?x=1 HTTP/1.1\r\n"
                                        b"Host: hub.example.org:80\r\nConnection: close\r\n\r\n")
    assert status == 301
    assert headers[b"location"] == b"https://hub.example.org:%d/user/alice/lab?x=1" % proxy.port


def test_redirect_to_names_the_port_in_the_location(proxy_process, tls_files):
    _, port = tls_proxy_redirecting(proxy_process, tls_files, "--redirect-to", "8443")
    status, headers, _ = redirect(port, b"POST /hub/login HTTP/1.1\r\nHost: hub.example.org\r\n"
                                        b"Content-Length: 5\r\nConnection: close\r\n\r\nhello")
    assert (status, headers[b"location"]) == (301, b"https://hub.example.org:8443/hub/login")


def test_redirect_to_443_leaves_the_port_out(kernel_proxy, tls_files):
    # Deliberately unlike CHP, which keeps ":443" here: it compares the
    # --redirect-to string with the number 443, so only a --port of 443 (which
    # a test cannot bind) leaves the port out there.
    _, port = tls_proxy_redirecting(kernel_proxy, tls_files, "--redirect-to", "443")
    status, headers, _ = redirect(port, b"GET /hub/ HTTP/1.1\r\nHost: hub.example.org:80\r\n"
                                        b"Connection: close\r\n\r\n")
    assert (status, headers[b"location"]) == (301, b"https://hub.example.org/hub/")


@pytest.mark.parametrize(("host", "target", "location"), [
    (b"[::1]:80", b"/hub/", b"https://[::1]:8443/hub/"),
    (b"hub.example.org", b"http://elsewhere.example.org/hub/?x=1",
     b"https://hub.example.org:8443/hub/?x=1"),
])
def test_redirects_keep_ipv6_hosts_and_drop_absolute_urls(kernel_proxy, tls_files, host,
                                                           target, location):
    # Deliberately unlike CHP, which cuts "[::1]:80" at its first colon and
    # appends an absolute-form target whole ("https://hub.example.org:8443http://...").
    _, port = tls_proxy_redirecting(kernel_proxy, tls_files, "--redirect-to", "8443")
    status, headers, _ = redirect(port, b"GET %s HTTP/1.1\r\nHost: %s\r\n"
                                        b"Connection: close\r\n\r\n" % (target, host))
    assert (status, headers[b"location"]) == (301, location)


def test_an_empty_host_to_the_redirect_port_is_400(kernel_proxy, tls_files):
    # Deliberately unlike CHP, which redirects to "https://:PORT/...".
    _, port = tls_proxy_redirecting(kernel_proxy, tls_files)
    status, _, _ = redirect(port, b"GET /hub/ HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n")
    assert status == 400


@pytest.mark.parametrize("version", [b"HTTP/1.0", b"HTTP/1.1"])
def test_a_request_without_host_to_the_redirect_port_is_400(proxy_process, tls_files, version):
    _, port = tls_proxy_redirecting(proxy_process, tls_files)
    status, _, body = redirect(port, b"GET /hub/ %s\r\nConnection: close\r\n\r\n" % version)
    assert status == 400
    if version == b"HTTP/1.0":  # node answers HTTP/1.1 without Host before CHP sees it
        assert b"HTTPS" in body


def test_the_redirect_port_needs_tls(proxy_refusal):
    done = proxy_refusal("--redirect-port", str(free_port()))
    assert done.returncode == 1
    assert "HTTPS redirection specified but certificates not provided." in done.stdout
