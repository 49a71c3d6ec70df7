"""kernel-proxy's REST API refuses a wrong token of any characters with 403, as
configurable-http-proxy does, and keeps serving."""

from __future__ import annotations

import socket

from tests.proxy.conftest import TOKEN


def _api_status(port: int, authorization: bytes) -> bytes:
    """The status line kernel-proxy's API answers to GET /api/routes (b"" if none)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"GET /api/routes HTTP/1.1\r\nHost: proxy\r\nAuthorization: " + authorization
                     + b"\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer.split(b"\r\n", 1)[0]


def test_a_non_ascii_api_token_is_403_not_a_crash(kernel_proxy):
    proxy = kernel_proxy()
    assert _api_status(proxy.api_port, "token jeton-\u00e9t\u00e9".encode()) == \
        b"HTTP/1.1 403 Forbidden"
    assert _api_status(proxy.api_port, f"token {TOKEN}".encode()) == b"HTTP/1.1 200 OK"
