"""The kernel-proxy process: its listening sockets, shared state, signals, and ``main``.

kernel-proxy is a byte-level asyncio relay (``client`` and ``backend``
protocols over uvloop when it is installed) that serves configurable-http-
proxy's REST API (``api``), flags (``options``) and HTTP-to-HTTPS redirect
listener (``redirect``). Flow control is end to end: when one side's write
buffer fills, the other side stops reading until it drains, so bodies of any
size pass through in bounded memory.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import ssl
import sys
from contextlib import suppress

from plugins.kernel_proxy.api import ApiConnection, RoutesApi
from plugins.kernel_proxy.backend import BackendConnection
from plugins.kernel_proxy.client import ClientConnection
from plugins.kernel_proxy.http1 import CustomHeaders, fetch_error_page, read_error_page
from plugins.kernel_proxy.options import ProxyOptions, parse_options
from plugins.kernel_proxy.redirect import RedirectConnection
from plugins.kernel_proxy.routing import RouteTable, Target

log = logging.getLogger("kernelhub.kernel_proxy")

#: Idle keep-alive connections kept per backend target.
MAX_IDLE_PER_TARGET = 256


class ProxyServer:
    """What all connections share: options, the routing table, idle backend connections."""

    #: Unsent bytes in a transport that pause reading on the other side (and resume it).
    high_water = 1024 * 1024
    low_water = 256 * 1024

    def __init__(self, options: ProxyOptions, table: RouteTable) -> None:
        self.options = options
        self.table = table
        self.loop = asyncio.get_running_loop()
        self.idle: dict[tuple[str, int, bool], list[BackendConnection]] = {}
        self.clients: set[ClientConnection] = set()
        self.public_tls = bool(options.ssl_cert)
        self.debug = log.isEnabledFor(logging.DEBUG)
        self.custom_headers = (CustomHeaders(options.custom_headers) if options.custom_headers
                               else None)
        self.error_pages = bool(options.error_target or options.error_path)
        # Client connections look at their quiet time this often (0: never).
        limits = [limit for limit in (options.keep_alive_timeout, options.timeout,
                                      options.proxy_timeout, options.head_timeout,
                                      options.body_timeout) if limit]
        self.watch_period = min(limits) / 2 if limits else 0.0
        self._backend_tls = options.client_tls

    def tune(self, transport: asyncio.BaseTransport) -> None:
        """Give a new connection's transport the proxy's write-buffer limits."""
        # Every stream transport has write-buffer limits; BaseTransport does not declare them.
        transport.set_write_buffer_limits(self.high_water, self.low_water)  # type: ignore[attr-defined]

    def take_idle(self, key: tuple[str, int, bool]) -> BackendConnection | None:
        """A kept-alive connection to the target ``key``, if one is waiting."""
        conns = self.idle.get(key)
        while conns:
            conn = conns.pop()
            if conn.transport.is_closing():
                continue
            if conn.has_unread_bytes():  # closed by the backend, or speaking out of turn
                conn.transport.close()
                continue
            return conn
        return None

    def put_idle(self, conn: BackendConnection) -> None:
        conns = self.idle.setdefault(conn.key, [])
        if len(conns) >= MAX_IDLE_PER_TARGET:
            conn.transport.close()
            return
        conn.transport.resume_reading()  # an idle connection must still notice its close
        conns.append(conn)

    def drop_idle(self, conn: BackendConnection) -> None:
        conns = self.idle.get(conn.key)
        if conns and conn in conns:
            conns.remove(conn)

    def connect(self, client: ClientConnection, target: Target) -> asyncio.Task[None]:
        """Open a new connection to ``target`` for ``client`` (which hears back either way)."""
        return self.loop.create_task(self._connect(client, target))

    async def _connect(self, client: ClientConnection, target: Target) -> None:
        try:
            _, backend = await self.loop.create_connection(
                lambda: BackendConnection(self, target.key), target.host, target.port,
                ssl=self.backend_tls() if target.tls else None)
        except (OSError, ssl.SSLError) as e:
            client.backend_failed(e)
        else:
            client.backend_connected(backend)

    async def error_page(self, code: int, url: bytes) -> tuple[bytes, bytes] | None:
        """The page for the proxy's own error ``code`` on ``url``: (header lines, body).

        None when the page cannot be had, or neither ``--error-target`` nor
        ``--error-path`` is given (``error_pages`` is false).
        """
        options = self.options
        if options.error_target:
            return await fetch_error_page(options.error_target, code, url, self.backend_tls)
        if options.error_path:
            return await read_error_page(options.error_path, code)
        return None

    def backend_tls(self) -> ssl.SSLContext:
        """The one context for every https target and error target (``--client-ssl-*``)."""
        if self._backend_tls is None:
            self._backend_tls = ssl.create_default_context()
        return self._backend_tls

    def close_all(self) -> None:
        for client in list(self.clients):
            client.close()
        for conns in self.idle.values():
            for conn in conns:
                conn.transport.close()
        self.idle.clear()


async def serve(options: ProxyOptions) -> None:
    """Serve the public port and the API until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    table = RouteTable(options.host_routing)
    if options.default_target:
        table.add("/", {"target": options.default_target})
    proxy = ProxyServer(options, table)
    public_tls = None
    if options.ssl_cert:
        public_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        public_tls.load_cert_chain(options.ssl_cert, options.ssl_key,
                                   password=os.environ.get("CONFIGPROXY_SSL_KEY_PASSPHRASE"))
    api = RoutesApi(table, options.auth_token)
    public_server = await loop.create_server(
        lambda: ClientConnection(proxy), options.ip or None, options.port,
        ssl=public_tls, backlog=2048, reuse_address=True,
        # A handshake is part of a request head's time: a trickled one must not outlast it.
        ssl_handshake_timeout=options.head_timeout if public_tls and options.head_timeout
        else None)
    api_server = await loop.create_server(
        lambda: ApiConnection(api), options.api_ip or None, options.api_port,
        ssl=options.api_tls, reuse_address=True)
    servers = [public_server, api_server]
    if options.redirect_port is not None:
        servers.append(await loop.create_server(
            lambda: RedirectConnection(options.redirect_to), options.ip or None,
            options.redirect_port, reuse_address=True))
        log.info("Redirecting http://%s:%d to https on port %d", options.ip or "*",
                 options.redirect_port, options.redirect_to)
    if options.pid_file:
        with open(options.pid_file, "w") as f:
            f.write(str(os.getpid()))
    log.info("Proxying %s://%s:%d to %s", "https" if public_tls else "http",
             options.ip or "*", options.port, options.default_target or "(no default)")
    log.info("Proxy API at %s://%s:%d/api/routes", "https" if options.api_tls else "http",
             options.api_ip, options.api_port)
    if not options.auth_token:
        log.warning("REST API is not authenticated.")
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    stamping = loop.create_task(_stamp_activity(table))
    try:
        await stop.wait()
    finally:
        log.info("Shutting down")
        stamping.cancel()
        for server in servers:
            server.close()
        proxy.close_all()
        if options.pid_file:
            with suppress(OSError):
                os.unlink(options.pid_file)


async def _stamp_activity(table: RouteTable) -> None:
    """Give routes that carried traffic their ``last_activity``, once a second."""
    while True:
        await asyncio.sleep(1.0)
        table.flush_activity()


def main(argv: list[str] | None = None) -> None:
    """Run kernel-proxy with configurable-http-proxy's flags; returns on SIGTERM or SIGINT.

    ``argv`` defaults to ``sys.argv[1:]``. Exits with status 2 on a bad flag
    and 1 when a port cannot be opened.
    """
    options = parse_options(argv)
    logging.basicConfig(level=options.log_level, stream=sys.stderr,
                        format="%(asctime)s.%(msecs)03d [KernelProxy] %(levelname)s: %(message)s",
                        datefmt="%H:%M:%S")
    for flag in options.ignored:
        log.debug("Ignoring %s: configurable-http-proxy's option is not implemented", flag)
    for level, message in options.notices:
        log.log(level, "%s", message)
    try:
        import uvloop
    except ImportError:
        loop_factory = None
    else:
        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        try:
            runner.run(serve(options))
        except (OSError, ssl.SSLError) as e:
            log.error("kernel-proxy cannot start: %s", e)
            sys.exit(1)
