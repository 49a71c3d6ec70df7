"""kernel-proxy bounds how long a slow client holds a connection: slowloris, stalled bodies.

A request head has a deadline counted from its first byte (from the accept,
for a connection's first request) that more bytes do not push back; a
request body may not stall; heads are capped in size and header lines.
"""

from __future__ import annotations

import select
import socket
import time

import pytest

from kernel.testing.hub import running_hub

HEAD_TIMEOUT = 1.5  # seconds; the flag takes milliseconds
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"


@pytest.fixture
def proxy(kernel_proxy, raw_backend):
    """A proxy with a short head deadline and body timeout, routing '/' to an OK backend.

    The backend answers nothing to a request with a body, so that a stalled
    body is the proxy's to time out.
    """
    backend = raw_backend(lambda request_line: b"" if request_line.startswith(b"POST") else OK)
    started = kernel_proxy("--head-timeout", str(int(HEAD_TIMEOUT * 1000)),
                           "--body-timeout", "1000")
    started.add_route("/", backend.url)
    return started


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def hung_up(sock: socket.socket) -> bool:
    """Whether the proxy has closed ``sock``, without waiting (reading what it sent, a 408)."""
    try:
        while select.select([sock], [], [], 0)[0]:
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True
    return False


def test_connections_trickling_a_request_head_are_closed_at_the_head_deadline(proxy):
    trickling = [connect(proxy.port) for _ in range(50)]
    started = time.monotonic()
    for sock in trickling:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    normal_status = None
    open_ = set(trickling)
    try:
        while open_ and time.monotonic() - started < 5:  # 5 s: past the old keep-alive limit
            time.sleep(0.5)  # the trickle's pace: one header line per connection
            for sock in list(open_):
                try:
                    if hung_up(sock):
                        open_.discard(sock)
                    else:
                        sock.sendall(b"X-Slow: 1\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    open_.discard(sock)
            if normal_status is None:  # while the trickle goes on, before the deadline
                normal_status = proxy.get("/").status_code
        closed_after = time.monotonic() - started
    finally:
        for sock in trickling:
            sock.close()
    assert normal_status == 200
    assert not open_, f"{len(open_)} of 50 trickling connections still open"
    assert closed_after < HEAD_TIMEOUT + 1.5


def test_a_request_head_unfinished_at_the_deadline_is_answered_408(proxy):
    with connect(proxy.port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 408 ")


def test_stray_line_ends_do_not_hold_a_connection_open(proxy):
    with connect(proxy.port) as sock:
        started = time.monotonic()
        closed = False
        while not closed and time.monotonic() - started < 5:
            try:
                sock.sendall(b"\r\n")  # allowed between requests, so never a request itself
                time.sleep(0.3)
                closed = hung_up(sock)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
        assert closed
        assert time.monotonic() - started < HEAD_TIMEOUT + 1.5


def test_a_stalled_request_body_is_answered_408(proxy):
    with connect(proxy.port) as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
                     + b"x" * 10)
        assert sock.recv(65536).startswith(b"HTTP/1.1 408 ")


def test_a_request_head_with_more_than_100_header_lines_is_431(proxy):
    headers = b"".join(b"X-Many-%d: 1\r\n" % n for n in range(101))
    with connect(proxy.port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + b"\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 431 ")


def test_hub_ini_sets_the_deadlines_of_the_proxy_the_hub_starts(tmp_path):
    with running_hub(tmp_path, {"kernel-proxy": {"head_timeout": "1", "body_timeout": "1"}}
                     ) as hub, connect(hub.public_port) as head, \
            connect(hub.public_port) as body:
        head.sendall(b"GET /hub/api/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        # The login form is read whoever sends it (the API would refuse first, unread).
        body.sendall(b"POST /hub/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 100\r\n\r\nusername=")
        started = time.monotonic()
        assert head.recv(65536).startswith(b"HTTP/1.1 408 ")
        assert body.recv(65536).startswith(b"HTTP/1.1 408 ")
        assert time.monotonic() - started < 3  # not the default 30 s and 60 s
