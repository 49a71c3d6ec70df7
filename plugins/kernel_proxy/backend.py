"""kernel-proxy's backend side: one protocol per connection to a route's target.

A ``BackendConnection`` gathers each response head, parses it with httptools
for the status, the framing headers and keep-alive, and writes it to the
client; the body is then relayed as it arrives, framed by the proxy itself
(Content-Length, chunks, or the end of the connection). Nothing past the
framed end of a response reaches the client: a backend that sends more
bytes than it announced, or speaks while no request is pending, loses its
connection, since those bytes would be read as the answer to someone's next
request. A connection whose response allows it, and which took the whole
request before answering, goes back to the pool of its target for the next
request; a 101 response turns it into a tunnel.

A backend may answer before it has read the request body (a 413, a 403) and
close, while the proxy still sends the body: the send then fails, and the
event loop drops the connection with the answer unread in its socket. That
answer is read from the socket before it is closed, and relayed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
from typing import TYPE_CHECKING

import httptools

from plugins.kernel_proxy.http1 import MAX_HEAD, ChunkedScanner, closing

if TYPE_CHECKING:
    from plugins.kernel_proxy.client import ClientConnection
    from plugins.kernel_proxy.server import ProxyServer

log = logging.getLogger("kernelhub.kernel_proxy")

# What a backend connection reads next.
HEAD, LENGTH, CHUNKED, UNTIL_CLOSE, TUNNEL = range(5)
#: Statuses whose responses never have a body (RFC 9112, section 6.3).
_NO_BODY = frozenset((204, 304))


class BackendConnection(asyncio.Protocol):
    """One connection to a backend: relays a response, then waits in the pool for the next."""

    __slots__ = ("answered_early", "body_left", "buffer", "chunked", "chunks", "client",
                 "content_length", "keep_alive", "key", "parser", "reading", "reused",
                 "server", "status", "transfer_encoding", "transport", "write_paused")

    def __init__(self, server: ProxyServer, key: tuple[str, int, bool]) -> None:
        self.server = server
        self.key = key
        # None only until connection_made, which asyncio calls before any other method.
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.parser: httptools.HttpResponseParser | None = None
        self.client: ClientConnection | None = None
        self.write_paused = False
        self.reading = HEAD
        self.buffer = b""  # an unfinished response head
        self.reused = False
        #: Whether the response lets its connection serve another request (what the
        #: client is told, by the response's own head and framing).
        self.keep_alive = False
        #: The backend answered before the whole request body came.
        self.answered_early = False
        self.status = 0
        self.content_length: int | None = None
        self.transfer_encoding = self.chunked = False
        self.body_left = 0
        self.chunks: ChunkedScanner | None = None

    def start(self, client: ClientConnection, reused: bool) -> None:
        """Serve ``client``'s request, whose head is about to be written."""
        self.client = client
        self.reused = reused
        self.reading = HEAD
        self.buffer = b""
        self.answered_early = False

    def has_unread_bytes(self) -> bool:
        """Whether bytes (or the end of the stream) wait unread on this idle connection.

        An idle connection has nothing to say; whatever it said would be taken
        for the answer to the next request sent on it. The event loop reads
        idle connections, but the bytes may have come in the same loop
        iteration as that request: ask the socket itself.
        """
        sock = self.transport.get_extra_info("socket")
        if sock is None:
            return False
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        return bool(poller.poll(0))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream server gives its protocols a Transport; asyncio's stubs say BaseTransport.
        self.transport = transport  # type: ignore[assignment]
        self.server.tune(transport)

    def data_received(self, data: bytes) -> None:
        client = self.client
        if client is None:
            if self.reading != TUNNEL:
                log.warning("The backend at %s:%d sent %d bytes while no request was pending; "
                            "its connection is closed", self.key[0], self.key[1], len(data))
            return self.transport.close()
        client.io = True
        # A client waits for a backend only with a routed request (client.route).
        client.mark_active(client.route)  # type: ignore[arg-type]
        reading = self.reading
        if reading == HEAD:
            self._heads(client, self.buffer + data if self.buffer else data)
        elif reading in (TUNNEL, UNTIL_CLOSE):
            client.transport.write(data)
        else:
            self._body(client, data)

    def _heads(self, client: ClientConnection, data: bytes) -> None:
        """Relay the response head in ``data`` (after any 1xx ones), then what body follows."""
        self.buffer = b""
        client.replay = None  # the backend has the request: never send it again
        while True:
            end = data.find(b"\r\n\r\n")
            if end < 0:
                if len(data) > MAX_HEAD:
                    return self._broken(client, f"a response head over {MAX_HEAD} bytes")
                self.buffer = data
                return
            head, data = data[: end + 4], data[end + 4:]
            if not self._parse_head(client, head):
                return
            status = self.status
            client.responded = True
            if status >= 200 and status != 101 and not client.request_done:
                # Answered before the whole body came: what the backend makes of the rest
                # is its own business, so its connection serves no other request. The
                # client's does if the rest is small enough to read and drop; else it
                # closes after the answer, and the answer says so.
                self.answered_early = True
                if not client.can_drop_rest():
                    head, self.keep_alive = closing(head), False
            client.transport.write(head)
            if status == 101:
                self.reading = TUNNEL
                if data:
                    client.transport.write(data)
                return client.start_tunnel()
            if status >= 200:
                break
            # An interim response (100 Continue, 103 Early Hints): the real one follows.
        if client.head_request or status in _NO_BODY:
            return self._finish(client, data)
        if self.chunked:
            self.reading, self.chunks = CHUNKED, ChunkedScanner()
        elif self.content_length is not None and not self.transfer_encoding:
            self.reading, self.body_left = LENGTH, self.content_length
            if not self.body_left:
                return self._finish(client, data)
        else:
            # Delimited by the end of the connection, which then cannot be kept.
            self.reading, self.keep_alive = UNTIL_CLOSE, False
        if data:
            self._body(client, data)

    def _parse_head(self, client: ClientConnection, head: bytes) -> bool:
        """Read ``head``'s status and framing; False (and the exchange ended) when malformed."""
        self.status, self.content_length = 0, None
        self.transfer_encoding = self.chunked = False
        # A fresh parser per head: the proxy frames bodies itself, so httptools never
        # has to know that a response answered HEAD or was cut off.
        self.parser = httptools.HttpResponseParser(self)
        try:
            self.parser.feed_data(head)
        except httptools.HttpParserUpgrade:
            pass  # the head is all it was given; the status says whether to switch
        except (httptools.HttpParserError, ValueError) as e:
            self._broken(client, f"a malformed response head ({e})")
            return False
        if self.status == 101 and not client.upgrade:
            self._broken(client, "an unrequested protocol switch")
            return False
        return True

    def _body(self, client: ClientConnection, data: bytes) -> None:
        """Relay body bytes; anything past the body's framed end is not the client's."""
        if self.reading == UNTIL_CLOSE:
            return client.transport.write(data)
        if self.reading == LENGTH:
            left, size = self.body_left, len(data)
            if size < left:
                self.body_left = left - size
                return client.transport.write(data)
            self.body_left = 0
            body, extra = (data, b"") if size == left else (data[:left], data[left:])
        else:
            try:
                # A chunked body has its scanner, made when its head said chunked.
                end = self.chunks.end(data)  # type: ignore[union-attr]
            except ValueError as e:
                return self._broken(client, f"a malformed chunked body ({e})")
            if end < 0:
                return client.transport.write(data)
            body, extra = (data, b"") if end == len(data) else (data[:end], data[end:])
        if body:
            client.transport.write(body)
        self._finish(client, extra)

    def _finish(self, client: ClientConnection, extra: bytes) -> None:
        """The response is complete; ``extra`` is whatever the backend sent past its end."""
        self.client = None
        self.reading = HEAD
        if extra:
            log.warning("The backend at %s:%d sent %d bytes past the end of its response; "
                        "they are dropped and its connection closed", self.key[0], self.key[1],
                        len(extra))
            self.transport.close()
        elif (self.keep_alive and not self.answered_early and client.request_done
              and client.keep_alive and not client.upgrade
              and not self.transport.get_write_buffer_size()
              and not self.transport.is_closing()):
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

    # httptools callbacks (response heads only)

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name)  # lengths first: most headers are neither
        if size == 14 and name.lower() == b"content-length":
            self.content_length = int(value)
        elif size == 17 and name.lower() == b"transfer-encoding":
            # The last coding frames the body; chunked anywhere else does not (RFC 9112, 6.3).
            self.transfer_encoding = True
            self.chunked = value.rstrip().lower().endswith(b"chunked")

    def on_headers_complete(self) -> None:
        parser = self.parser
        # The parser calls this, so it exists.
        self.status = parser.get_status_code()  # type: ignore[union-attr]
        self.keep_alive = parser.should_keep_alive()  # type: ignore[union-attr]

    # connection events

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and self.client is not None and not self.key[2]:
            self._read_the_rest()
        client, self.client = self.client, None
        if client is None:
            self.server.drop_idle(self)
        else:
            client.backend_lost(self, exc)

    def _read_the_rest(self) -> None:
        """Relay what the backend sent before the connection failed, unread so far.

        A failed send (EPIPE, ECONNRESET: the backend answered early and closed)
        ends the transport before it reads again, yet Linux keeps received bytes
        readable after a reset. The socket is still open while ``connection_lost``
        runs (in asyncio and uvloop alike): read it to its end here. Not for TLS,
        whose records only the transport could decrypt.
        """
        sock = self.transport.get_extra_info("socket")
        if sock is None:
            return
        fd = sock.fileno()
        while self.client is not None:
            try:
                data = os.read(fd, 256 * 1024)
            except OSError:  # nothing more for now (EAGAIN), or the reset itself
                return
            if not data:
                return
            self.data_received(data)

    def pause_writing(self) -> None:
        self.write_paused = True
        if self.client is not None:
            self.client.backend_paused()

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.client is not None:
            self.client.backend_resumed()
