"""Load for bench/hub.py: wrk for the REST reads, a small asyncio HTTP client for the rest.

The same code drives kernelhub and JupyterHub. ``wrk`` (one thread, keep-alive
connections, ``--latency``) sends the GETs, with a Lua script where each
request differs (a random page of users). Activity bursts and form logins need
a client that waits for whole bursts or carries cookies from one request to
the next: ``Connection`` below is a bare HTTP/1.1 keep-alive client on uvloop,
cheap enough on the client side that the hub, not the load, is what runs out
of CPU.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

import uvloop

PAGINATION = "application/jupyterhub-pagination+json"


@dataclass(frozen=True)
class Load:
    """One workload's result: throughput, per-request latency, and what went wrong."""

    #: Answered as expected, per second.
    per_second: float
    p50_ms: float
    p99_ms: float
    #: Everything sent, failures included (for logins: login attempts).
    requests: int
    errors: int
    #: The first unexpected answer, for the report ("503 on POST /hub/login").
    first_error: str = ""


def _percentiles(latencies: list[float], requests: int, elapsed: float, errors: list[str]
                 ) -> Load:
    """The Load of ``requests`` sent over ``elapsed`` seconds, ``errors`` among them;
    ``latencies`` are the good ones'."""
    first_error = errors[0] if errors else ""
    good = (requests - len(errors)) / elapsed
    if len(latencies) < 2:
        return Load(good, math.nan, math.nan, requests, len(errors), first_error)
    cuts = statistics.quantiles(latencies, n=100)
    return Load(good, cuts[49] * 1000, cuts[98] * 1000, requests, len(errors), first_error)


# -- wrk ------------------------------------------------------------------------------

USERS_PAGE_LUA = """
local total, limit = {total}, {limit}
function init(args) math.randomseed(os.time() + {seed}) end
function request()
  local offset = math.random(0, total - limit)
  return wrk.format(nil, "{path}?offset=" .. offset .. "&limit=" .. limit)
end
"""


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def wrk(url: str, connections: int, seconds: int, headers: dict[str, str],
        script: str | None = None) -> Load:
    """``wrk -t1 -cN --latency`` with ``headers`` and an optional Lua ``script``."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                   "--timeout", "10s"]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        if script:
            lua.write(script)
            lua.flush()
            command += ["-s", lua.name]
        out = subprocess.run([*command, url], capture_output=True, text=True,
                             check=True).stdout
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    per_second = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return Load(
        per_second=per_second * (requests - errors) / requests if requests else 0.0,
        p50_ms=_wrk_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        p99_ms=_wrk_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        requests=requests,
        errors=errors,
        first_error="non-2xx answers or socket errors (wrk)" if errors else "")


def _wrk_ms(text: str) -> float:
    """wrk's ``307.00us`` / ``3.15ms`` / ``1.02s`` / ``1.00m`` in milliseconds."""
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def users_page_script(total: int, path: str, limit: int = 50) -> str:
    """Lua for wrk: GET a page of ``limit`` users at a random offset, every request."""
    return USERS_PAGE_LUA.format(total=total, limit=limit, path=path,
                                 seed=random.randrange(1 << 20))


def gets(port: int, path: str, connections: int, seconds: int, headers: dict[str, str],
         script: str | None = None) -> Load:
    """GETs through wrk when installed, else through the asyncio client (same numbers,
    but it saturates sooner and ignores ``script``'s random offsets)."""
    if wrk_available():
        return wrk(f"http://127.0.0.1:{port}{path}", connections, seconds, headers, script)
    return uvloop.run(_python_gets(port, path, connections, seconds, headers))


async def _python_gets(port: int, path: str, connections: int, seconds: float,
                       headers: dict[str, str]) -> Load:
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        conn = await Connection.open(port)
        try:
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                answer = await conn.request("GET", path, headers)
                if answer.status != 200:
                    errors.append(f"{answer.status} on GET {path}")
                else:
                    latencies.append(time.perf_counter() - began)
        finally:
            conn.close()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return _percentiles(latencies, len(latencies), time.perf_counter() - began, errors)


# -- a bare HTTP/1.1 client ---------------------------------------------------------------

@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)

    def cookies(self) -> dict[str, str]:
        """The cookies this answer sets (name → value; deletions included as "")."""
        found = {}
        for key, value in self.headers:
            if key == "set-cookie":
                name, _, rest = value.partition("=")
                found[name.strip()] = rest.split(";", 1)[0].strip().strip('"')
        return found


class Connection:
    """One keep-alive connection to 127.0.0.1:port; reconnects when the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    @classmethod
    async def open(cls, port: int) -> Connection:
        conn = cls(port)
        await conn._connect()
        return conn

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP,
                                                        socket.TCP_NODELAY, 1)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    async def request(self, method: str, path: str, headers: dict[str, str],
                      body: bytes = b"") -> Answer:
        """Send one request and read its answer. A kept-alive connection the server closed
        while it was idle (nothing read back) is reopened and the request sent again once,
        as browsers do."""
        reused = self.writer is not None
        try:
            return await self._exchange(method, path, headers, body)
        except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError) as e:
            nothing_read = not isinstance(e, asyncio.IncompleteReadError) or not e.partial
            if not (reused and nothing_read):
                raise
            self.close()
            return await self._exchange(method, path, headers, body)

    async def _exchange(self, method: str, path: str, headers: dict[str, str],
                        body: bytes) -> Answer:
        if self.writer is None:
            await self._connect()
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}",
                 *(f"{k}: {v}" for k, v in headers.items())]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        answer_headers = [(k.strip().lower(), v.strip()) for k, _, v in
                          (line.partition(":") for line in header_lines if line)]
        answer = Answer(status, answer_headers, b"")
        length = answer.header("content-length")
        if length is not None:
            answer.body = await self.reader.readexactly(int(length))
        elif (answer.header("transfer-encoding") or "").lower() == "chunked":
            answer.body = await self._chunked()
        elif status not in (204, 304) and status >= 200:
            answer.body = await self.reader.read()
            self.close()
        if (answer.header("connection") or "").lower() == "close":
            self.close()
        return answer

    async def _chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)


# -- activity bursts -------------------------------------------------------------------------

def activity_bursts(port: int, prefix: str, token: str, users: list[str], burst: int,
                    seconds: float) -> Load:
    """POST activity for ``burst`` users at once, wait for all, repeat for ``seconds``.

    Each burst reports a fresh timestamp for the next ``burst`` users in turn,
    so every user gets newer activity each time around, as servers report it.
    """
    return uvloop.run(_activity_bursts(port, prefix, token, users, burst, seconds))


async def _activity_bursts(port: int, prefix: str, token: str, users: list[str], burst: int,
                           seconds: float) -> Load:
    headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}
    connections = [await Connection.open(port) for _ in range(burst)]
    latencies: list[float] = []
    errors: list[str] = []
    turn = 0

    async def post(conn: Connection, name: str, body: bytes) -> None:
        began = time.perf_counter()
        answer = await conn.request("POST", f"{prefix}users/{quote(name)}/activity",
                                    headers, body)
        if answer.status != 200:
            errors.append(f"{answer.status} on POST activity: {answer.body[:120]!r}")
        else:
            latencies.append(time.perf_counter() - began)

    async def one_burst() -> None:
        nonlocal turn
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        body = b'{"last_activity": "%s"}' % now.encode()
        names = [users[(turn + i) % len(users)] for i in range(burst)]
        turn += burst
        await asyncio.gather(*(post(c, n, body) for c, n in zip(connections, names,
                                                                  strict=True)))

    requests = 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        await one_burst()
        requests += burst
    elapsed = time.perf_counter() - began
    for conn in connections:
        conn.close()
    return _percentiles(latencies, requests, elapsed, errors)


# -- form logins --------------------------------------------------------------------------------

_XSRF_FIELD = re.compile(rb'name="_xsrf"\s+value="([^"]+)"')


class LoginFailed(Exception):
    """The login form did not log in: the message says which request answered what."""


async def form_login(conn: Connection, hub_prefix: str, name: str, password: str
                     ) -> dict[str, str]:
    """Log in as a browser with no cookies does: GET the login page (its ``_xsrf`` field
    and cookie), then POST the form; the cookies the browser holds afterwards.

    Raises LoginFailed unless the POST answers 302 and sets the login cookie.
    """
    login = f"{hub_prefix}login"
    page = await conn.request("GET", login, {"Accept": "text/html"})
    field = _XSRF_FIELD.search(page.body)
    if page.status != 200 or field is None:
        raise LoginFailed(f"{page.status} on GET {login} (no _xsrf field)")
    cookies = page.cookies()
    form = urlencode({"username": name, "password": password,
                      "_xsrf": field.group(1).decode()}).encode()
    answer = await conn.request("POST", login, {
        "Cookie": cookie_header(cookies), "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "text/html"}, form)
    if answer.status != 302 or "jupyterhub-hub-login" not in answer.cookies():
        raise LoginFailed(f"{answer.status} on POST {login}: {answer.body[:120]!r}")
    return cookies | answer.cookies()


def cookie_header(cookies: dict[str, str]) -> str:
    """The ``Cookie`` header a browser sends for ``cookies`` (deleted ones left out)."""
    return "; ".join(f"{k}={v}" for k, v in cookies.items() if v)


def form_logins(port: int, hub_prefix: str, users: list[str], password: str,
                concurrency: int, seconds: float) -> Load:
    """Browsers logging in: GET the login page (XSRF field and cookie), POST the form.

    Each login starts with no cookies, as a new visitor does; it counts (in the
    rate and the latencies) when the POST answers 302 and sets the login cookie.
    Latency is per login, both requests.
    """
    return uvloop.run(_form_logins(port, hub_prefix, users, password, concurrency, seconds))


async def _form_logins(port: int, hub_prefix: str, users: list[str], password: str,
                       concurrency: int, seconds: float) -> Load:
    latencies: list[float] = []
    errors: list[str] = []

    async def log_in(conn: Connection, name: str) -> None:
        began = time.perf_counter()
        try:
            await form_login(conn, hub_prefix, name, password)
        except LoginFailed as e:
            errors.append(str(e))
            return
        latencies.append(time.perf_counter() - began)

    attempts = 0

    async def browser(deadline: float) -> None:
        nonlocal attempts
        conn = await Connection.open(port)
        try:
            while time.perf_counter() < deadline:
                await log_in(conn, random.choice(users))
                attempts += 1
        finally:
            conn.close()

    began = time.perf_counter()
    await asyncio.gather(*(browser(began + seconds) for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    return _percentiles(latencies, attempts, elapsed, errors)


def probe(port: int, path: str, timeout: float = 1.0) -> int | None:
    """The status of one GET on a new connection; None when nothing answers (yet)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                         "Connection: close\r\n\r\n".encode())
            line = sock.recv(64)
    except OSError:
        return None
    match = re.match(rb"HTTP/1\.[01] (\d{3})", line)
    return int(match.group(1)) if match else None

