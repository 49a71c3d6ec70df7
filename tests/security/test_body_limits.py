"""Request bodies: a limit for every hub endpoint, and none read before it is wanted.

Each test talks to a real hub. Raw sockets go straight to the hub's own port
when the test must see exactly when the hub answers and closes; httpx goes
through the proxy, as browsers and API clients do.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from kernel.testing.hub import PASSWORD, HubProcess, running_hub

TOKEN = "body-limits-admin-token-0123456789"
SECTIONS = {"hub.api_tokens": {TOKEN: "admin"}, "auth": {"admin_users": "admin"}}
MiB = 1024 * 1024
KiB = 1024


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """A hub with the default limits: 10 MiB for the API, 64 KiB for forms, 16 KiB for
    CSP reports."""
    with running_hub(tmp_path_factory.mktemp("hub"), SECTIONS) as hub:
        yield hub


@pytest.fixture(scope="module")
def generous_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """A hub whose API would take a 1 GiB body, so that only authentication stops one."""
    with running_hub(tmp_path_factory.mktemp("generous"),
                     {**SECTIONS, "hub": {"max_api_body_size": str(2 * 1024 * MiB)}}) as hub:
        yield hub


def connect(hub: HubProcess) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", hub.hub_port))
    connection.settimeout(20)
    return connection


def request_head(method: str, path: str, *, length: int | None = None,
                 token: str | None = None, content_type: str = "application/json") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {content_type}"]
    lines.append(f"Content-Length: {length}" if length is not None
                 else "Transfer-Encoding: chunked")
    if token:
        lines.append(f"Authorization: token {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def send_body(connection: socket.socket, size: int, *, chunked: bool) -> int:
    """Send up to ``size`` bytes of body in 1 MiB pieces until the hub stops taking them;
    how many were sent."""
    piece = b" " * MiB
    sent = 0
    try:
        while sent < size:
            connection.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            sent += len(piece)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


def read_answer(connection: socket.socket) -> tuple[int, dict[str, str], bytes, bool]:
    """(status, headers, body, whether the hub then closed the connection)."""
    data = b""
    closed = False
    try:
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                closed = True
                break
            data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            headers = _headers(head)
            if "content-length" in headers and len(body) >= int(headers["content-length"]):
                # The answer is complete: does the hub close? (Well within its 5 s keep-alive.)
                connection.settimeout(1)
    except ConnectionResetError:
        closed = True
    except TimeoutError:
        pass
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return status, _headers(head), body, closed


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines)}


def assert_json_413(body: bytes) -> None:
    error = json.loads(body)
    assert error["status"] == 413
    assert "max_api_body_size" in error["message"]


# -- limits ----------------------------------------------------------------------------


def test_an_api_body_declared_too_large_is_refused_before_it_is_sent(hub):
    with connect(hub) as connection:
        connection.sendall(request_head("POST", "/hub/api/users", length=11 * MiB,
                                        token=TOKEN))
        status, headers, body, closed = read_answer(connection)
    assert status == 413
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert_json_413(body)
    assert closed


def test_a_chunked_api_body_is_cut_off_when_it_passes_the_limit(hub):
    with connect(hub) as connection:
        connection.sendall(request_head("POST", "/hub/api/users", token=TOKEN))
        sent = send_body(connection, 64 * MiB, chunked=True)
        status, _, body, closed = read_answer(connection)
    assert status == 413
    assert_json_413(body)
    assert closed
    assert sent < 40 * MiB


def test_a_body_within_the_limit_is_read(hub):
    name = "padded-body-user"
    # 2 MiB of JSON: the object and a lot of white space.
    body = b'{"admin": false}' + b" " * (2 * MiB)
    response = httpx.post(f"{hub.url}hub/api/users/{name}", content=body, timeout=30,
                          headers={"Authorization": f"token {TOKEN}"})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == name


def test_the_login_form_has_a_small_limit(hub):
    response = httpx.post(f"{hub.url}hub/login", content=b"username=" + b"a" * (65 * KiB),
                          headers={"Content-Type": "application/x-www-form-urlencoded"},
                          timeout=30)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "max_form_body_size" in response.text


def test_the_login_form_still_logs_people_in(hub):
    client = hub.client()
    response = client.login("form-limit-user")
    assert response.status_code == 302, response.text
    assert client.get("hub/api/user").json()["name"] == "form-limit-user"


def test_a_chunked_form_past_the_limit_gets_the_error_page(hub):
    with connect(hub) as connection:
        connection.sendall(request_head("POST", "/hub/login",
                                        content_type="application/x-www-form-urlencoded"))
        send_body(connection, 4 * MiB, chunked=True)
        status, headers, body, closed = read_answer(connection)
    assert status == 413
    assert headers["content-type"].startswith("text/html")
    assert b"max_form_body_size" in body
    assert closed


def test_a_csp_report_has_a_smaller_limit_still(hub):
    url = f"{hub.url}hub/security/csp-report"
    report = {"csp-report": {"blocked-uri": "inline", "violated-directive": "script-src"}}
    assert httpx.post(url, json=report).status_code == 204
    too_big = {"csp-report": {"blocked-uri": "x" * (17 * KiB)}}
    assert httpx.post(url, json=too_big).status_code == 413


# -- nothing read before the caller is known ---------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_request_without_credentials_is_refused_without_reading_its_body(generous_hub,
                                                                           chunked):
    size = 256 * MiB
    with connect(generous_hub) as connection:
        connection.sendall(request_head("POST", "/hub/api/users",
                                        length=None if chunked else size))
        sent = send_body(connection, size, chunked=chunked)
        status, _, body, closed = read_answer(connection)
    assert status == 403
    assert json.loads(body)["message"] == "Missing or invalid credentials."
    assert closed
    # What was sent is what the sockets buffer, and at most 1 MiB the hub drops.
    assert sent < 32 * MiB


def test_a_small_body_without_credentials_gets_its_403_through_the_proxy(hub):
    # The hub answers before reading the body, then drops the rest, so that the proxy is
    # not reset while it is still sending it (which would show as a 503).
    response = httpx.post(f"{hub.url}hub/api/users", content=b" " * (512 * KiB), timeout=30)
    assert response.status_code == 403
    assert response.json()["message"] == "Missing or invalid credentials."


def test_a_connection_stays_usable_after_a_small_unread_body(hub):
    with connect(hub) as connection:
        connection.sendall(request_head("POST", "/hub/api/users", length=4 * KiB)
                           + b" " * (4 * KiB))
        status, _, _, closed = read_answer(connection)
        assert status == 403
        assert not closed
        connection.sendall(b"GET /hub/api/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, _, _, _ = read_answer(connection)
    assert status == 200


def test_a_token_login_without_credentials_is_held_to_the_login_form_s_limit(hub):
    """POST /users/NAME/tokens takes a password in its `auth` field from callers without
    credentials: their bodies are login forms, not API bodies."""
    url = f"{hub.url}hub/api/users/anyone/tokens"
    padding = b" " * (65 * KiB)  # white space: still one JSON object
    too_large = httpx.post(url, content=b'{"auth": {"username": "anyone", "password": "x"}}'
                           + padding, timeout=30)
    assert too_large.status_code == 413, too_large.text
    assert "max_form_body_size" in too_large.json()["message"]
    unsized = httpx.post(url, content=iter([b'{"auth": {}}']), timeout=30)  # chunked
    assert unsized.status_code == 411, unsized.text
    logged_in = httpx.post(url, json={"auth": {"username": "anyone", "password": PASSWORD}},
                           timeout=30)
    assert logged_in.status_code == 201, logged_in.text
    with_token = httpx.post(url, content=b'{"note": "padded"}' + padding, timeout=30,
                            headers={"Authorization": f"token {logged_in.json()['token']}"})
    assert with_token.status_code == 201, with_token.text  # the API's limit for callers known
