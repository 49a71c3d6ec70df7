"""kernel-proxy relays a backend's response up to its framed end and not one byte further.

A user's server is a backend like any other: if bytes it sends past the end
of a response reached the client, they would be read as the answer to the
client's next request on that connection (a response injected into someone
else's exchange, when a shared proxy or browser reuses it).
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable

import h11
import pytest

from tests.proxy.conftest import ProxyProcess
from tests.security.conftest import RawBackend

INJECTED = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Injected: yes\r\n\r\nINJECTED"


def ok_with(extra: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK" + extra


def answer_by_path(first: bytes) -> Callable[[bytes], bytes]:
    """``first`` for /first; ``200 second`` (well framed) for anything else."""
    def answer(request_line: bytes) -> bytes:
        if b" /first" in request_line:
            return first
        return b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"
    return answer


def wait_stopped(pid: int) -> None:
    """Wait until process ``pid`` is stopped: SIGSTOP takes effect after kill() returns."""
    for _ in range(500):
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rpartition(")")[2].split()[0] == "T":
                return
        time.sleep(0.01)
    raise TimeoutError(f"process {pid} did not stop")


def wait_queued(peer: socket.socket, size: int) -> None:
    """Wait until ``size`` bytes sent on ``peer`` wait unread in the other end's socket.

    Loopback delivery can lag behind send() on a busy machine; /proc/net/tcp
    shows the receive queue of the socket at the far end.
    """
    local, remote = (b"%08X:%04X" % (int.from_bytes(socket.inet_aton(host), "little"), port)
                     for host, port in (peer.getpeername(), peer.getsockname()))
    for _ in range(500):
        with open("/proc/net/tcp", "rb") as f:
            for line in f.read().splitlines()[1:]:
                fields = line.split()
                if ((fields[1], fields[2]) == (local, remote)
                        and int(fields[4].split(b":")[1], 16) >= size):
                    return
        time.sleep(0.01)
    raise TimeoutError(f"{size} bytes were not delivered")


class Client:
    """One keep-alive client connection to the proxy, parsing responses with h11."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.conn = h11.Connection(h11.CLIENT)

    def send(self, method: str, path: str) -> None:
        if self.conn.our_state is h11.DONE:
            self.conn.start_next_cycle()
        self.sock.sendall(self.conn.send(h11.Request(
            method=method, target=path, headers=[("Host", "127.0.0.1")])))
        self.sock.sendall(self.conn.send(h11.EndOfMessage()))

    def response(self) -> tuple[h11.Response, bytes]:
        head, body = None, b""
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(self.sock.recv(65536))
            elif isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return head, body
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("the proxy closed the connection")

    def request(self, method: str, path: str) -> tuple[h11.Response, bytes]:
        self.send(method, path)
        return self.response()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def client_of(kernel_proxy, raw_backend):
    """A client of a proxy whose '/' route is a raw backend: ``client_of(first_answer)``.

    Returns the client, the backend and the proxy.
    """
    clients: list[Client] = []

    def make(first: bytes) -> tuple[Client, RawBackend, ProxyProcess]:
        backend = raw_backend(answer_by_path(first))
        proxy = kernel_proxy()
        proxy.add_route("/", backend.url)
        clients.append(Client(proxy.port))
        return clients[-1], backend, proxy

    yield make
    for client in clients:
        client.close()


def test_bytes_after_a_content_length_body_never_reach_the_client(client_of):
    client, _, _ = client_of(ok_with(INJECTED))
    assert client.request("GET", "/first")[1] == b"OK"
    head, body = client.request("GET", "/next")
    assert (body, dict(head.headers).get(b"x-injected")) == (b"second", None)


def test_bytes_after_a_chunked_body_and_its_trailer_never_reach_the_client(client_of):
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"2\r\nOK\r\n0\r\nX-Checksum: 1\r\n\r\n")
    client, _, _ = client_of(chunked + INJECTED)
    assert client.request("GET", "/first")[1] == b"OK"
    assert client.request("GET", "/next")[1] == b"second"


def test_a_body_sent_after_a_head_response_never_reaches_the_client(client_of):
    client, _, _ = client_of(ok_with(b"") + INJECTED)  # answers HEAD as if it were GET
    head, _ = client.request("HEAD", "/first")
    assert head.status_code == 200
    assert client.request("GET", "/next")[1] == b"second"


def test_a_backend_sending_extra_bytes_loses_its_connection(client_of):
    client, backend, _ = client_of(ok_with(INJECTED))
    client.request("GET", "/first")
    client.request("GET", "/next")
    assert len(backend.connections) == 2  # the first was not pooled


def test_a_pooled_connection_with_unsolicited_bytes_waiting_is_not_reused(client_of):
    client, backend, proxy = client_of(ok_with(b""))
    # The proxy is frozen while the next request and the backend's unsolicited bytes
    # arrive, so that it wakes to both at once: the pool must ask the socket itself,
    # not rely on the event loop having read them first. Which of the two the loop
    # hears first is the kernel's choice, so the race is run a few times.
    for _ in range(5):
        assert client.request("GET", "/first")[1] == b"OK"
        pooled = backend.last_served
        os.kill(proxy.pid, signal.SIGSTOP)
        try:
            wait_stopped(proxy.pid)
            client.send("GET", "/next")
            pooled.sendall(INJECTED)
            wait_queued(pooled, len(INJECTED))
            wait_queued(client.sock, 1)
        finally:
            os.kill(proxy.pid, signal.SIGCONT)
        head, body = client.response()
        assert (body, dict(head.headers).get(b"x-injected")) == (b"second", None)
