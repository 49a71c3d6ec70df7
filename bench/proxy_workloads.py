"""The benchmark's workloads, each run against one base address (a proxy, or the backend).

Small GETs go through ``wrk`` (its ``--latency`` percentiles) when it is
installed, else through a Python load generator that reports the same
numbers but saturates sooner. Transfers use plain blocking sockets, and
websocket round trips the ``websockets`` client: one connection, one thing at
a time, the same code for every target.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import uvloop
import websockets.asyncio.client

MB = 1_000_000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BLOCK = memoryview(b"\x00" * (1024 * 1024))


@dataclass(frozen=True)
class GetResult:
    """Small GETs at one concurrency."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


@dataclass(frozen=True)
class Target:
    """Where a workload sends its requests."""

    name: str
    port: int
    #: The websocket echo endpoint, ws://...
    ws_url: str
    #: The proxy's process; None for the backend itself.
    pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


# -- small GETs ---------------------------------------------------------------------

def small_gets(target: Target, path: str, connections: int, seconds: int) -> GetResult:
    """``connections`` keep-alive connections GETting ``path`` for ``seconds``."""
    if shutil.which("wrk"):
        return _wrk(target.url + path, connections, seconds)
    return uvloop.run(_python_gets(target.port, path, connections, seconds))


def _wrk(url: str, connections: int, seconds: int) -> GetResult:
    # One wrk thread: it keeps up with every proxy here and leaves the other cores to
    # the proxy and the backend.
    done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                           url], capture_output=True, text=True, check=True)
    out = done.stdout
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return GetResult(
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        p50_ms=_wrk_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        p99_ms=_wrk_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        requests=int(re.search(r"(\d+) requests in", out).group(1)),
        errors=errors + (int(non_2xx.group(1)) if non_2xx else 0))


def _wrk_ms(text: str) -> float:
    """wrk's ``307.00us`` / ``3.15ms`` / ``1.02s`` / ``1.00m`` in milliseconds."""
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


async def _python_gets(port: int, path: str, connections: int, seconds: float) -> GetResult:
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"content-length:\s*(\d+)", head, re.I)
                await reader.readexactly(int(length.group(1)) if length else 0)
                latencies.append(time.perf_counter() - began)
                errors += not head.startswith(b"HTTP/1.1 200")
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100)
    return GetResult(len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000,
                     len(latencies), errors)


# -- large transfers ------------------------------------------------------------------

def download(target: Target, size: int) -> float:
    """GET ``size`` bytes on a new connection; MB/s from the request to the last byte."""
    with socket.create_connection(("127.0.0.1", target.port)) as sock:
        began = time.perf_counter()
        sock.sendall(f"GET /bytes/{size} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        head, body = _read_head(sock)
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"{target.name}: the download was answered {head[:40]!r}")
        buffer = bytearray(1024 * 1024)
        received = len(body)
        while received < size:
            n = sock.recv_into(buffer)
            if not n:
                raise RuntimeError(f"{target.name}: the download stopped at {received} bytes")
            received += n
        return size / MB / (time.perf_counter() - began)


def upload(target: Target, size: int) -> float:
    """POST ``size`` bytes on a new connection; MB/s from the first byte to the answer."""
    with socket.create_connection(("127.0.0.1", target.port)) as sock:
        began = time.perf_counter()
        sock.sendall(f"POST /upload HTTP/1.1\r\nHost: bench\r\nContent-Length: {size}\r\n"
                     "Content-Type: application/octet-stream\r\n\r\n".encode())
        left = size
        while left:
            piece = BLOCK[:min(left, len(BLOCK))]
            sock.sendall(piece)
            left -= len(piece)
        head, _ = _read_head(sock)
        elapsed = time.perf_counter() - began
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"{target.name}: the upload was answered {head[:40]!r}")
        return size / MB / elapsed


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """The response head, and whatever part of the body came with it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError(f"the connection closed before a response: {data[:200]!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


# -- websockets ---------------------------------------------------------------------

def websocket_echo(target: Target, seconds: float) -> tuple[float, float]:
    """Round trips of a 32-byte message on one connection: (per second, p50 in µs).

    The asyncio client on uvloop: the sync client hands every message to a
    thread, which adds more latency than a proxy does.
    """
    return uvloop.run(_websocket_echo(target.ws_url, seconds))


async def _websocket_echo(url: str, seconds: float) -> tuple[float, float]:
    message = "x" * 32
    latencies: list[float] = []
    async with websockets.asyncio.client.connect(url, compression=None) as ws:
        deadline = time.perf_counter() + seconds
        while (began := time.perf_counter()) < deadline:
            await ws.send(message)
            await ws.recv()
            latencies.append(time.perf_counter() - began)
    return len(latencies) / sum(latencies), statistics.median(latencies) * 1e6


# -- the proxy process ----------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / MB
    raise RuntimeError(f"no VmHWM for process {pid}")
