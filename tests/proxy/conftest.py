"""Fixtures for the proxy tests: real proxy processes, real backends, free loopback ports.

``proxy_process`` is the conformance fixture: it is parametrized over
kernel-proxy and the real configurable-http-proxy (CHP), so every test that
uses it runs against both. CHP is found through ``$KERNELHUB_CHP`` or on
``PATH``; without it those runs are skipped, except under ``CI=true``, where
they fail. ``kernel_proxy`` starts kernel-proxy only, for what CHP does not
promise (memory bounds, exit status, its own flags). ``proxy_refusal``
runs either implementation with flags it must refuse to start with.

Backends run in this process on a background event loop: ``backend`` is an
HTTP/1.1 server built on h11 (an implementation independent of the proxy's)
that describes each request it gets, and ``ws_backend`` a websocket echo
server from the ``websockets`` package.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import h11
import httpx
import pytest
import websockets.asyncio.server

from kernel.testing.hub import PORT_TAKEN, START_ATTEMPTS, PortTaken, free_port, stop_process

REPO = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-proxy-token"
KERNEL_PROXY = "kernel-proxy"
CHP = "configurable-http-proxy"


# ports and processes

def chp_command() -> list[str]:
    """How to run configurable-http-proxy; skips the test (fails it under CI) without it."""
    binary = os.environ.get("KERNELHUB_CHP") or shutil.which("configurable-http-proxy")
    if binary and Path(binary).is_file():
        return [binary]
    reason = ("configurable-http-proxy not found: `npm install configurable-http-proxy` and "
              "set KERNELHUB_CHP to node_modules/.bin/configurable-http-proxy")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


class ProxyProcess:
    """A running proxy process (either implementation) on free loopback ports."""

    def __init__(self, implementation: str, command: list[str], args: tuple[str, ...],
                 token: str, log_path: Path) -> None:
        self.implementation = implementation
        self.token = token
        self.tls = "--ssl-cert" in args
        self.log_path = log_path
        # The ports were free when picked; another process may take one before the proxy
        # binds it (the suite starts many): then start again on new ones.
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                self._start(command, args)
                return
            except PortTaken:
                if attempt == START_ATTEMPTS:
                    raise

    def _start(self, command: list[str], args: tuple[str, ...]) -> None:
        self.port = free_port()
        self.api_port = free_port()
        self.public_url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        env = {**os.environ, "CONFIGPROXY_AUTH_TOKEN": self.token, "PYTHONPATH": str(REPO)}
        self.argv = [*command, "--ip", "127.0.0.1", "--port", str(self.port),
                     "--api-ip", "127.0.0.1", "--api-port", str(self.api_port), *args]
        with open(self.log_path, "wb") as log:  # a file, not a pipe: a full pipe would stall
            self.process = subprocess.Popen(self.argv, cwd=REPO, env=env, stdout=log,
                                            stderr=subprocess.STDOUT)
        self.pid = self.process.pid
        self._wait_until_serving()

    def _wait_until_serving(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = PortTaken if PORT_TAKEN in self.log().lower() else RuntimeError
                raise error(f"{self.argv} exited with {self.process.returncode}:\n"
                            f"{self.log()}")
            with contextlib.suppress(httpx.TransportError):
                if (self.api("GET", "").status_code == 200
                        and self.get("/_chp_healthz").status_code == 200):
                    return
            time.sleep(0.02)
        raise RuntimeError(f"{self.argv} did not serve within {timeout} s:\n{self.log()}")

    def wait_listening(self, port: int, timeout: float = 15.0) -> None:
        """Wait until this process accepts connections on ``port`` too (an extra listener)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.argv} exited with {self.process.returncode}:\n"
                                   f"{self.log()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                return
            time.sleep(0.02)
        raise RuntimeError(f"{self.argv} did not listen on {port} within {timeout} s:\n"
                           f"{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def api(self, method: str, path: str, body: Any = None, *, token: str | None = None,
            content: bytes | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        """One request to ``/api/routes<path>``, with this proxy's token unless told otherwise."""
        token = self.token if token is None else token
        sent = {"Authorization": f"token {token}"} if token else {}
        sent.update(headers or {})
        return httpx.request(method, f"{self.api_url}/api/routes{path}", json=body,
                             content=content, headers=sent, trust_env=False)

    def add_route(self, path: str, target: str, **data: Any) -> None:
        response = self.api("POST", path, {"target": target, **data})
        assert response.status_code == 201, response.text

    def routes(self, query: str = "") -> dict[str, Any]:
        response = self.api("GET", query)
        assert response.status_code == 200, response.text
        return response.json()

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """GET ``path`` through the proxy's public port (TLS unverified: self-signed)."""
        return httpx.get(self.public_url + path, trust_env=False, verify=False, **kwargs)

    def rss_kib(self) -> int:
        """The process's resident memory (VmRSS) in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for process {self.pid}")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Signal the process and return its exit status."""
        return stop_process(self.process, timeout, signum)


ProxyStarter = Callable[..., ProxyProcess]


def _command(implementation: str) -> list[str]:
    return ([sys.executable, "-m", "plugins.kernel_proxy"] if implementation == KERNEL_PROXY
            else chp_command())


def _starter(implementation: str, tmp_path: Path) -> Iterator[ProxyStarter]:
    command = _command(implementation)
    started: list[ProxyProcess] = []

    def start(*args: str, token: str = TOKEN) -> ProxyProcess:
        log_path = tmp_path / f"{implementation}-{len(started)}.log"
        proxy = ProxyProcess(implementation, command, args, token, log_path)
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


@pytest.fixture(params=[KERNEL_PROXY, CHP])
def proxy_process(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProxyStarter]:
    """Starts a proxy of each implementation: ``proxy_process(*flags, token=...)``.

    The conformance suite: a test using it runs once against kernel-proxy
    and once against configurable-http-proxy, and both must pass.
    """
    yield from _starter(request.param, tmp_path)


@pytest.fixture
def kernel_proxy(tmp_path: Path) -> Iterator[ProxyStarter]:
    """Starts kernel-proxy processes: ``kernel_proxy(*flags, token=...)``."""
    yield from _starter(KERNEL_PROXY, tmp_path)


@pytest.fixture(params=[KERNEL_PROXY, CHP])
def proxy_refusal(
        request: pytest.FixtureRequest) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Runs a proxy of each implementation with flags it must refuse: ``proxy_refusal(*flags)``.

    Returns the finished process with stderr merged into ``stdout`` (CHP
    logs some refusals to stdout, kernel-proxy all to stderr). A proxy that
    starts instead fails the test after 15 s.
    """
    command = _command(request.param)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [*command, "--ip", "127.0.0.1", "--port", str(free_port()),
                "--api-port", str(free_port()), *args]
        try:
            return subprocess.run(argv, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{argv} started instead of refusing its flags")

    return run


# backends

class BackendLoop:
    """An event loop on a daemon thread, where test backends run."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Any, timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        async def cancel_everything() -> None:
            tasks = asyncio.all_tasks() - {asyncio.current_task()}
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_everything())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class Backend:
    """An HTTP/1.1 backend (h11) on a free loopback port.

    By default it answers every request with JSON describing it: ``method``,
    ``target`` (the request target as received), ``headers`` (lower-cased
    names; repeated ones joined by ", "), ``body_length``, ``body_sha256``,
    ``connection`` (a number per TCP connection) and ``name``. Query
    parameters change the answer:

    - ``download=N``: N bytes of ``PATTERN``, with Content-Length, or chunked
      with ``chunked=1``;
    - ``status=N``: that status code;
    - ``abort_after=N``: announce 2N bytes, send N, then drop the connection;
    - ``stall_after=N``: announce 2N bytes, send N, then go silent for good;
    - ``close=1``: answer with ``Connection: close``;
    - ``sleep=S``: wait S seconds before answering;
    - ``slow_read=S``: wait S seconds before reading the request body;
    - ``once=1``: keep the connection open after answering, but close it
      without an answer when the next request comes (a stale keep-alive).
    """

    PATTERN = bytes(range(256)) * 256  # 64 KiB

    def __init__(self, backends: BackendLoop, name: str = "backend") -> None:
        self.backends = backends
        self.name = name
        self.connections = 0
        self.server = backends.run(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.backends.loop.call_soon_threadsafe(self.server.close)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        connection_id = self.connections
        conn = h11.Connection(h11.SERVER)
        stale = False
        try:
            while True:
                request = await self._next_event(conn, reader)
                if not isinstance(request, h11.Request) or stale:
                    return
                stale = b"once=1" in request.target
                if b"slow_read=" in request.target:
                    query = parse_qs(urlsplit(request.target.decode()).query)
                    await asyncio.sleep(float(query["slow_read"][0]))
                digest, length = hashlib.sha256(), 0
                while True:
                    event = await self._next_event(conn, reader)
                    if isinstance(event, h11.Data):
                        digest.update(event.data)
                        length += len(event.data)
                    elif isinstance(event, h11.EndOfMessage):
                        break
                    else:
                        return
                await self._answer(conn, writer, request, {
                    "name": self.name, "connection": connection_id,
                    "body_length": length, "body_sha256": digest.hexdigest()})
                if conn.our_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()
        except (h11.RemoteProtocolError, ConnectionError):
            return
        finally:
            writer.close()

    @staticmethod
    async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader) -> Any:
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            conn.receive_data(await reader.read(256 * 1024))

    async def _answer(self, conn: h11.Connection, writer: asyncio.StreamWriter,
                      request: h11.Request, facts: dict[str, Any]) -> None:
        target = request.target.decode("latin-1")
        query = {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}
        if "sleep" in query:
            await asyncio.sleep(float(query["sleep"]))
        status = int(query.get("status", 200))
        extra = [(b"Connection", b"close")] if query.get("close") else []
        cut_short = "abort_after" in query or "stall_after" in query
        if "download" in query or cut_short:
            size = int(query.get("download") or query.get("abort_after") or query["stall_after"])
            chunked = query.get("chunked") == "1"
            length = size * 2 if cut_short else size
            headers = [(b"Content-Type", b"application/octet-stream"), *extra]
            if not chunked:
                headers.append((b"Content-Length", str(length).encode()))
            writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
            sent = 0
            while sent < size:
                piece = self.PATTERN[: min(len(self.PATTERN), size - sent)]
                writer.write(conn.send(h11.Data(data=piece)))
                sent += len(piece)
                await writer.drain()
            if "abort_after" in query:
                writer.transport.abort()
                raise ConnectionError("aborted on purpose")
            if "stall_after" in query:
                await asyncio.Event().wait()  # silent until the backend loop shuts down
            writer.write(conn.send(h11.EndOfMessage()))
            await writer.drain()
            return
        headers: dict[str, str] = {}
        for name, value in request.headers:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        body = json.dumps({"method": request.method.decode(), "target": target,
                           "headers": headers, **facts}).encode()
        writer.write(conn.send(h11.Response(status_code=status, headers=[
            (b"Content-Type", b"application/json"),
            (b"Content-Length", str(len(body)).encode()), *extra])))
        writer.write(conn.send(h11.Data(data=body)))
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()


class WebsocketBackend:
    """A websocket echo server.

    Two messages are answered instead of echoed: ``whoami`` with the
    handshake request's path, ``headers`` with its headers as a JSON object
    (lower-cased names; repeated ones joined by ", "). The query parameter
    ``handshake_delay=S`` delays the handshake's answer by S seconds.
    """

    def __init__(self, backends: BackendLoop) -> None:
        async def start() -> Any:
            return await websockets.asyncio.server.serve(
                self._echo, "127.0.0.1", 0, process_request=self._delay)

        self.backends = backends
        self.server = backends.run(start())
        self.port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    @staticmethod
    async def _delay(ws: Any, request: Any) -> None:
        query = parse_qs(urlsplit(request.path).query)
        if "handshake_delay" in query:
            await asyncio.sleep(float(query["handshake_delay"][0]))

    @staticmethod
    async def _echo(ws: Any) -> None:
        async for message in ws:
            if message == "whoami":
                await ws.send(ws.request.path)
            elif message == "headers":
                headers: dict[str, str] = {}
                for name, value in ws.request.headers.raw_items():
                    key = name.lower()
                    headers[key] = f"{headers[key]}, {value}" if key in headers else value
                await ws.send(json.dumps(headers))
            else:
                await ws.send(message)

    def close(self) -> None:
        self.backends.loop.call_soon_threadsafe(self.server.close)


@pytest.fixture(scope="session")
def backend_loop() -> Iterator[BackendLoop]:
    backends = BackendLoop()
    yield backends
    backends.close()


@pytest.fixture
def backend(backend_loop: BackendLoop) -> Iterator[Backend]:
    """An HTTP backend that describes every request it gets (see ``Backend``)."""
    server = Backend(backend_loop)
    yield server
    server.close()


@pytest.fixture
def make_backend(backend_loop: BackendLoop) -> Iterator[Callable[[str], Backend]]:
    """Starts more named backends: ``make_backend("bob")``."""
    servers: list[Backend] = []

    def make(name: str) -> Backend:
        servers.append(Backend(backend_loop, name))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def ws_backend(backend_loop: BackendLoop) -> Iterator[WebsocketBackend]:
    """A websocket echo backend."""
    server = WebsocketBackend(backend_loop)
    yield server
    server.close()


def seen_by(backend: Backend, response: httpx.Response) -> dict:
    """The backend's description of the request, checking that ``backend`` is who answered."""
    assert response.status_code == 200, response.text
    facts = response.json()
    assert facts["name"] == backend.name
    return facts


def raw_exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send ``data`` to 127.0.0.1:``port`` as is; everything received until the server closes."""
    received = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        with contextlib.suppress(ConnectionResetError):
            while chunk := s.recv(65536):
                received.append(chunk)
    return b"".join(received)


class KillableBackend:
    """A backend process that starts a long response, then waits to be killed."""

    SCRIPT = (
        "import socket, sys, time\n"
        "s = socket.create_server(('127.0.0.1', 0))\n"
        "print(s.getsockname()[1], flush=True)\n"
        "conn, _ = s.accept()\n"
        "conn.recv(65536)\n"
        "conn.sendall(b'HTTP/1.1 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n' + b'x' * 200000)\n"
        "time.sleep(60)\n"
    )

    def __init__(self, announced: int = 10_000_000) -> None:
        self.announced = announced
        self.process = subprocess.Popen([sys.executable, "-c", self.SCRIPT % announced],
                                        stdout=subprocess.PIPE)
        self.url = f"http://127.0.0.1:{int(self.process.stdout.readline())}"  # type: ignore[union-attr]

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture
def killable_backend() -> Iterator[KillableBackend]:
    """A backend process that sends part of a response and is then killed by the test."""
    server = KillableBackend()
    yield server
    server.kill()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed key and certificate for 127.0.0.1 (made with the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return str(key), str(cert)


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"
