"""kernel-proxy's backend side: one protocol per connection to a route's target.

A ``BackendConnection`` feeds response bytes through httptools only to learn
the status and where the response ends (content length, chunks or the end of
the connection; llhttp does that in C), and writes the very same bytes to the
client. A connection whose response allows it goes back to the pool of its
target for the next request; a 101 response turns it into a tunnel.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import httptools

if TYPE_CHECKING:
    from plugins.kernel_proxy.client import ClientConnection
    from plugins.kernel_proxy.server import ProxyServer

log = logging.getLogger("kernelhub.kernel_proxy")


class BackendConnection(asyncio.Protocol):
    """One connection to a backend: relays a response, then waits in the pool for the next."""

    __slots__ = ("client", "complete", "keep_alive", "key", "parser", "renew", "reused",
                 "server", "status", "transport", "tunnel", "write_paused")

    def __init__(self, server: ProxyServer, key: tuple[str, int, bool]) -> None:
        self.server = server
        self.key = key
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.parser = httptools.HttpResponseParser(self)
        self.client: ClientConnection | None = None
        self.write_paused = False
        self.tunnel = False
        self.renew = False  # the parser is out of step (after a HEAD response)
        self.reused = False
        self.complete = False
        self.keep_alive = False
        self.status = 0

    def start(self, client: ClientConnection, reused: bool) -> None:
        """Serve ``client``'s request, whose head is about to be written."""
        self.client = client
        self.reused = reused
        self.complete = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server.tune(transport)

    def data_received(self, data: bytes) -> None:
        client = self.client
        if client is None:  # an idle connection has nothing to say
            return self.transport.close()
        client.io = True
        client.mark_active(client.route)
        if self.tunnel:
            return client.transport.write(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self.status != 101 or not client.upgrade:
                return self._broken(client, "an unrequested protocol switch")
            self.tunnel = True
            client.responded = True
            client.transport.write(data)
            return client.start_tunnel()
        except httptools.HttpParserError as e:
            return self._broken(client, f"a malformed response ({e})")
        client.responded = True
        client.transport.write(data)
        if self.complete:
            self._finish(client)

    def _finish(self, client: ClientConnection) -> None:
        self.client = None
        if self.renew:
            self.parser = httptools.HttpResponseParser(self)
            self.renew = False
        if self.keep_alive and client.request_done and client.keep_alive and not client.upgrade:
            self.server.put_idle(self)
        else:
            self.transport.close()
        client.response_done(self.keep_alive)

    def _broken(self, client: ClientConnection, what: str) -> None:
        log.warning("The backend at %s:%d sent %s", self.key[0], self.key[1], what)
        self.client = None
        client.backend = None
        self.transport.close()
        if client.responded:
            client.close()
        else:
            client.fail(503, ConnectionError(what))

    # httptools callbacks

    def on_headers_complete(self) -> None:
        self.status = status = self.parser.get_status_code()
        # Read now: httptools resets what this depends on once the message is complete.
        self.keep_alive = self.parser.should_keep_alive()
        if status >= 200 and self.client is not None and self.client.head_request:
            self.complete = self.renew = True  # the body a HEAD response announces never comes

    def on_message_complete(self) -> None:
        if not 100 <= self.status < 200 or self.status == 101:  # after a 1xx, the real one
            self.complete = True

    # connection events

    def connection_lost(self, exc: Exception | None) -> None:
        client, self.client = self.client, None
        if client is None:
            self.server.drop_idle(self)
        else:
            client.backend_lost(self, exc)

    def pause_writing(self) -> None:
        self.write_paused = True
        if self.client is not None:
            self.client.backend_paused()

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.client is not None:
            self.client.backend_resumed()
