"""What the security tests share: a running hub per module with the admin's API client,
and for kernel-proxy's tests a real proxy process and a raw-socket backend.

A module that needs its own hub.ini sets ``HUB_SECTIONS`` (the API tests' sections
otherwise: an admin with a known token, named servers, admin_access).
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from kernel.testing.hub import HubProcess, running_hub
from tests.api import helpers
from tests.proxy.conftest import KERNEL_PROXY, TOKEN, ProxyProcess


@pytest.fixture(scope="module")
def hub(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    sections = getattr(request.module, "HUB_SECTIONS", helpers.HUB_SECTIONS)
    with running_hub(tmp_path_factory.mktemp("hub"), sections) as hub:
        yield hub


@pytest.fixture(scope="module")
def api(hub: HubProcess) -> Iterator[httpx.Client]:
    """The admin's client for /hub/api/."""
    with helpers.api_client(hub) as client:
        yield client


@pytest.fixture
def kernel_proxy(tmp_path: Path) -> Iterator[Callable[..., ProxyProcess]]:
    """Starts kernel-proxy processes on loopback: ``kernel_proxy(*flags)``."""
    started: list[ProxyProcess] = []

    def start(*args: str) -> ProxyProcess:
        proxy = ProxyProcess(KERNEL_PROXY, [sys.executable, "-m", "plugins.kernel_proxy"], args,
                             TOKEN, tmp_path / f"kernel-proxy-{len(started)}.log")
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


class RawBackend:
    """A loopback backend that answers each request head with bytes a test chooses.

    ``answer(request_line)`` gives the bytes sent back, as they are: framing
    mistakes and all. Accepted sockets stay in ``connections``, so a test can
    also speak on one out of turn; ``last_served`` is the one that answered last.
    """

    def __init__(self, answer: Callable[[bytes], bytes]) -> None:
        self.answer = answer
        self.connections: list[socket.socket] = []
        self.requests: list[bytes] = []
        self.last_served: socket.socket | None = None
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # closed by the test
                return
            self.connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                request_line = head.split(b"\r\n")[0]
                self.requests.append(request_line)
                self.last_served = conn
                conn.sendall(self.answer(request_line))
        except OSError:
            return

    def close(self) -> None:
        self.listener.close()
        for conn in self.connections:
            conn.close()


@pytest.fixture
def raw_backend() -> Iterator[Callable[[Callable[[bytes], bytes]], RawBackend]]:
    """Starts raw-socket backends: ``raw_backend(answer)`` (see ``RawBackend``)."""
    backends: list[RawBackend] = []

    def start(answer: Callable[[bytes], bytes]) -> RawBackend:
        backends.append(RawBackend(answer))
        return backends[-1]

    yield start
    for backend in backends:
        backend.close()
