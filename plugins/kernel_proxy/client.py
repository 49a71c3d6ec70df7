"""kernel-proxy's client side: one protocol per connection to the public port.

A ``ClientConnection`` parses each request head with httptools, routes it,
rewrites only the request line and the X-Forwarded-* headers, and hands the
request to a ``BackendConnection``; request bodies are relayed as they
arrive, never gathered. One request is in flight at a time: a pipelined
request waits, with reading paused, until the previous response is done.

Slow clients are bounded as production proxies bound them: a request head
must arrive whole within ``--head-timeout`` of its first byte (of the
connection's start, for the first request), however it trickles in; a
request body may not stall for ``--body-timeout``; an idle keep-alive
connection closes after ``--keep-alive-timeout``. None of them applies once
a connection is a tunnel, nor while a response is relayed.

A request sent on a kept-alive backend connection that fails before one byte
of the answer arrives is sent again, once, on a new connection: the backend
had closed that connection, so nothing of the request reached the
application. Only a request held whole in memory can be sent again: its head
and up to ``REPLAY_BODY`` bytes of body, kept until the answer starts.
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from typing import TYPE_CHECKING

import httptools

from plugins.kernel_proxy.http1 import (
    MAX_HEAD,
    MAX_HEADERS,
    ChunkedScanner,
    forwarded,
    origin_form,
    response,
)
from plugins.kernel_proxy.routing import Route, Target, routing_path, upstream_path

if TYPE_CHECKING:
    from plugins.kernel_proxy.backend import BackendConnection
    from plugins.kernel_proxy.server import ProxyServer

log = logging.getLogger("kernelhub.kernel_proxy")

# States of a client connection.
HEAD, BODY, WAIT, TUNNEL, CLOSED, LINGER = range(6)
# Why reading from the client is paused: bits of ``ClientConnection.pauses``.
_BACKPRESSURE, _PIPELINED, _CONNECTING = 1, 2, 4

_TEXT = b"Content-Type: text/plain; charset=utf-8\r\n"

#: Most request-body bytes kept to send a request again (on a reused backend connection).
REPLAY_BODY = 64 * 1024
#: Most request-body bytes still to come that the proxy reads and drops after an early
#: answer, so that the connection serves the next request; with more, it closes.
DROP_BODY = 64 * 1024
#: Longest a connection answered before its request body came in reads it, to close safely.
LINGER_TIME = 5.0


class ClientConnection(asyncio.Protocol):
    """One client connection to the public port: routes each request and relays it."""

    __slots__ = (
        "backend", "body_left", "buffer", "chunked", "chunks", "connecting", "content_length",
        "dropping", "head_request", "head_since", "headers", "host", "io", "keep_alive",
        "mark_active", "message_done", "method", "parser", "pauses", "peer", "pending",
        "pending_size", "quiet_since", "replay", "replay_size", "request_done", "responded",
        "route", "server", "state", "target", "transport", "upgrade", "url", "watchdog",
        "write_paused", "xfwd_present",
    )

    def __init__(self, server: ProxyServer) -> None:
        self.server = server
        self.mark_active = server.table.active.add
        # None only until connection_made, which asyncio calls before any other method.
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.parser: httptools.HttpRequestParser | None = None
        self.state = HEAD
        self.buffer = b""
        # When the request head being read began (None: none has); its deadline runs from here.
        self.head_since: float | None = None
        self.pauses = 0
        self.write_paused = False
        self.io = False  # traffic seen since the watchdog last looked
        self.watchdog: asyncio.TimerHandle | None = None
        self.backend: BackendConnection | None = None
        self.connecting: asyncio.Task[None] | None = None
        self.pending: list[bytes] | None = None  # for a backend still connecting
        self.pending_size = 0
        self.route: Route | None = None
        self.target: Target | None = None
        self.method = self.url = b""
        self.keep_alive = True
        self.upgrade = False
        self.head_request = False
        self.request_done = True
        self.responded = False
        self.replay: list[bytes] | None = None  # the request so far, while it can be resent
        self.replay_size = 0  # of the body in ``replay``
        self.body_left = 0
        self.chunks: ChunkedScanner | None = None
        #: Answered already: the rest of the request body is read and dropped.
        self.dropping = False

    # connection events

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream server gives its protocols a Transport; asyncio's stubs say BaseTransport.
        self.transport = transport  # type: ignore[assignment]
        self.server.tune(transport)
        peer = transport.get_extra_info("peername")
        self.peer = (peer[0] if isinstance(peer, tuple) else "").encode()
        self.server.clients.add(self)
        # The first request's head is due from the accept: a connection that never
        # finishes one must not be held open by trickling it.
        self.head_since = self.server.loop.time()
        if self.server.watch_period:
            self.quiet_since = self.head_since
            self.watchdog = self.server.loop.call_later(self.server.watch_period, self._watch)

    def data_received(self, data: bytes) -> None:
        self.io = True
        state = self.state
        # A connection reaches BODY and TUNNEL only with a routed request (self.route).
        if state == BODY:
            self.mark_active(self.route)  # type: ignore[arg-type]
            self._body(data)
        elif state == TUNNEL:
            self.mark_active(self.route)  # type: ignore[arg-type]
            # A tunnel, and a request past its head, have their backend attached.
            self.backend.transport.write(data)  # type: ignore[union-attr]
        elif state == HEAD:
            if self.buffer:
                data, self.buffer = self.buffer + data, b""
            self._heads(data)
        elif state == WAIT:
            # The next pipelined request (or early websocket frames): it waits.
            self.buffer += data
            self._pause(_PIPELINED)
        # LINGER (answered, the rest of the request body is dropped) and CLOSED: nothing.

    def eof_received(self) -> bool | None:
        if self.state in (BODY, WAIT):
            self.keep_alive = False  # half-closed: answer this request, then close
            return True
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.state = CLOSED
        self.server.clients.discard(self)
        if self.watchdog is not None:
            self.watchdog.cancel()
        if self.connecting is not None:
            self.connecting.cancel()
        self._drop_backend()

    def pause_writing(self) -> None:
        self.write_paused = True
        if self.backend is not None:
            self.backend.transport.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.backend is not None:
            self.backend.transport.resume_reading()

    # requests

    def _heads(self, data: bytes) -> None:
        """Handle the request heads in ``data`` until one has to wait for its response."""
        while True:
            if data[:1] in (b"\r", b"\n"):
                data = data.lstrip(b"\r\n")  # stray line ends between requests
            end = data.find(b"\r\n\r\n")
            if end < 0 or end >= MAX_HEAD:
                if len(data) > MAX_HEAD:
                    return self._reject(431)
                if data:
                    self.buffer = data
                if self.head_since is None:  # bytes of a head (even stray line ends) came
                    self.head_since = self.server.loop.time()
                return
            head, rest = data[: end + 4], data[end + 4:]
            if head.count(b"\n") > MAX_HEADERS + 2:  # the request line, the headers, the end
                return self._reject(431)
            self._request(head)
            if self.state == HEAD:  # answered here (health check): on to the next one
                data = rest
                continue
            if rest:
                if self.state == BODY:
                    self._body(rest)
                elif self.state == WAIT:
                    self.buffer = rest
                    self._pause(_PIPELINED)
            return

    def _request(self, head: bytes) -> None:
        self.head_since = None
        parser = self.parser
        if parser is None:
            parser = self.parser = httptools.HttpRequestParser(self)
        self.url = self.host = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.content_length = 0
        self.chunked = self.xfwd_present = self.message_done = self.upgrade = False
        try:
            parser.feed_data(head)
        except httptools.HttpParserUpgrade:
            self.upgrade = True
        except httptools.HttpParserError as e:
            log.debug("Bad request from %s: %s", self.peer.decode(), e)
            return self._reject(400)
        if not self.message_done or self.upgrade:
            self.parser = None  # it expects a body: the next request gets a fresh parser
        self.method = method = parser.get_method()
        if method == b"CONNECT":
            return self._reject(400)
        self.head_request = method == b"HEAD"
        self.request_done = not (self.chunked or self.content_length)
        self.responded = False
        url = self.url
        if url == b"/_chp_healthz":
            return self._respond(200, b'{"status": "OK"}', b"Content-Type: application/json\r\n")
        if url[:1] != b"/":
            url = origin_form(url)
        raw_path, _, query = url.partition(b"?")
        path, forward_path = routing_path(raw_path)
        if forward_path is not raw_path:
            url = forward_path + (b"?" + query if query else b"")
        server = self.server
        options = server.options
        if options.host_routing:
            path = "/" + self.host.split(b":")[0].decode("latin-1") + path
        self.route = route = server.table.match(path)
        if route is None:
            return self.fail(404)
        self.target = target = route.target
        if target is None:
            return self.fail(500)
        url = upstream_path(url, 0 if options.include_prefix else route.strip,
                            target.path if options.prepend_path else b"")
        lines = head[head.find(b"\r\n") + 2: -2]
        if options.x_forward:
            lines = forwarded(lines, self.headers if self.xfwd_present else None, self.peer,
                              self.host, server.public_tls, self.upgrade)
        if server.custom_headers is not None:
            lines = server.custom_headers.apply(lines)
        version = b"HTTP/1.1" if parser.get_http_version() == "1.1" else b"HTTP/1.0"
        out = b"%s %s %s\r\n%s\r\n" % (method, url, version, lines)
        if server.debug:
            log.debug("PROXY %s %s to %s", method.decode(), self.url.decode("latin-1"),
                      route.data["target"])
        self.chunks = ChunkedScanner() if self.chunked else None
        self.body_left = self.content_length
        self.state = WAIT if self.request_done else BODY
        self.mark_active(route)
        backend = server.take_idle(target.key)
        if backend is None:
            self.replay = None  # a failure on a new connection is the backend's answer
            self.pending, self.pending_size = [out], len(out)
            self.connecting = server.connect(self, target)
        else:
            self.replay, self.replay_size = [out], 0
            self._attach(backend, reused=True)
            backend.transport.write(out)

    # httptools callbacks (request heads only)

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        size = len(name)  # lengths first: most headers are none of these
        if size == 4 and name.lower() == b"host":
            self.host = value
        elif size == 14 and name.lower() == b"content-length":
            self.content_length = int(value)
        elif size == 17 and name.lower() == b"transfer-encoding":
            self.chunked = value.rstrip().lower().endswith(b"chunked")
        elif size > 11 and name[:12].lower() == b"x-forwarded-":
            self.xfwd_present = True

    def on_headers_complete(self) -> None:
        # The parser calls this, so it exists.
        self.keep_alive = self.parser.should_keep_alive()  # type: ignore[union-attr]

    def on_message_complete(self) -> None:
        self.message_done = True

    # request bodies

    def _body(self, data: bytes) -> None:
        """Relay request-body bytes; what follows the body is the next request."""
        if self.chunks is None:
            left, size = self.body_left, len(data)
            if size < left:
                self.body_left = left - size
                return self._send(data)
            self.body_left = 0
            body, rest = (data, b"") if size == left else (data[:left], data[left:])
        else:
            try:
                end = self.chunks.end(data)
            except ValueError as e:
                log.debug("Bad chunked body from %s: %s", self.peer.decode(), e)
                return self._reject(400)
            if end < 0:
                return self._send(data)
            body, rest = (data, b"") if end == len(data) else (data[:end], data[end:])
        self._send(body)
        self.request_done = True
        self.state = WAIT
        if rest:
            self.buffer = rest
            self._pause(_PIPELINED)
        if self.dropping:
            self.dropping = False
            self._next_request()

    def _send(self, data: bytes) -> None:
        if self.replay is not None:
            self.replay_size += len(data)
            if self.replay_size > REPLAY_BODY:
                self.replay = None  # sent on, but no longer whole here to send again
            else:
                self.replay.append(data)
        if self.backend is not None:
            self.backend.transport.write(data)
        elif self.pending is not None:
            self.pending.append(data)
            self.pending_size += len(data)
            if self.pending_size > self.server.high_water:
                self._pause(_CONNECTING)

    # the backend's side of the exchange

    def _attach(self, backend: BackendConnection, reused: bool) -> None:
        self.backend = backend
        backend.start(self, reused)
        if self.write_paused:
            backend.transport.pause_reading()
        if backend.write_paused:
            self._pause(_BACKPRESSURE)

    def backend_connected(self, backend: BackendConnection) -> None:
        self.connecting = None
        if self.state == CLOSED:
            self.server.put_idle(backend)
            return
        self._attach(backend, reused=False)
        # The request's bytes wait in ``pending`` while its backend connects.
        backend.transport.writelines(self.pending)  # type: ignore[arg-type]
        self.pending = None
        self._resume(_CONNECTING)

    def backend_failed(self, exc: BaseException) -> None:
        self.connecting = self.pending = None
        if self.state != CLOSED:
            self.fail(503, exc)

    def backend_lost(self, backend: BackendConnection, exc: BaseException | None) -> None:
        """The backend hung up while serving this client."""
        self.backend = None
        if self.state == CLOSED:
            return
        if self.state != TUNNEL and not self.responded:
            if backend.reused and self.replay is not None:
                # A kept-alive connection that the backend closed before this request
                # reached it (no byte of an answer came, which clears ``replay``):
                # the application never saw the request. Send it again, once.
                self.pending, self.replay = self.replay, None
                self.pending_size = sum(map(len, self.pending))
                # Only a routed request is ever sent, so it has its target.
                self.connecting = self.server.connect(self, self.target)  # type: ignore[arg-type]
                return
            return self.fail(503, exc or ConnectionResetError("the backend closed the connection"))
        self.close()  # mid-response or an open tunnel: the client sees the end too

    def backend_paused(self) -> None:
        self._pause(_BACKPRESSURE)

    def backend_resumed(self) -> None:
        self._resume(_BACKPRESSURE)

    def response_done(self, keep_alive: bool) -> None:
        """The response to this client's request is complete."""
        self.backend = None
        self._resume(_BACKPRESSURE)
        can_continue = keep_alive and self.keep_alive and not self.upgrade
        if self.state == BODY:
            # Answered before the request body came in: read the rest and drop it (a
            # small one, see can_drop_rest), or close without losing the answer.
            if can_continue:
                self.dropping = True
                return None
            return self._linger()
        if self.state != WAIT or not can_continue:
            return self.close()
        return self._next_request()

    def can_drop_rest(self) -> bool:
        """Whether what is left of the request body is small enough to read and drop."""
        return self.chunks is None and self.body_left <= DROP_BODY

    def _next_request(self) -> None:
        self.state = HEAD
        self.responded = False  # so that a bad next request is answered (400, 431, 408)
        data, self.buffer = self.buffer, b""
        self._resume(_PIPELINED)
        if data:
            self._heads(data)

    def start_tunnel(self) -> None:
        """The backend accepted the upgrade: from now on bytes flow both ways untouched."""
        self.state = TUNNEL
        if self.buffer:
            data, self.buffer = self.buffer, b""
            # The backend that accepted the upgrade is attached.
            self.backend.transport.write(data)  # type: ignore[union-attr]
        self._resume(_PIPELINED)

    def _drop_backend(self) -> None:
        backend, self.backend = self.backend, None
        if backend is not None:
            backend.client = None
            backend.transport.close()  # mid-exchange: not reusable

    # answers from the proxy itself

    def fail(self, code: int, exc: BaseException | None = None) -> None:
        """Answer 404 (no route), 500 (bad target) or 503 (backend down or silent).

        The page comes from --error-target or --error-path, except for websocket
        requests, which get the plain answer as in CHP.
        """
        what = (self.method + b" " + self.url.split(b"?")[0]).decode("latin-1")
        if code == 503:
            log.warning("503 %s: %r", what, exc)
        else:
            log.info("%d %s", code, what)
        if self.server.error_pages and not self.upgrade:
            self.state = WAIT
            self.connecting = self.server.loop.create_task(self._error_page(code))
        else:
            self._respond(code, HTTPStatus(code).phrase.encode(), _TEXT)

    async def _error_page(self, code: int) -> None:
        page = await self.server.error_page(code, self.url)
        self.connecting = None
        if self.state == CLOSED:
            return
        headers, body = page or (_TEXT, HTTPStatus(code).phrase.encode())
        self._respond(code, body, headers)

    def _respond(self, status: int, body: bytes, headers: bytes) -> None:
        close = not (self.keep_alive and self.request_done) or self.upgrade
        self.transport.write(response(status, body, close, headers))
        self.responded = True
        if close:
            return self.close() if self.request_done else self._linger()
        self.state = WAIT
        self.response_done(keep_alive=True)

    def _reject(self, status: int) -> None:
        """Answer a request that cannot be relayed, and hang up."""
        if not self.responded and self.state != CLOSED:
            self.transport.write(response(status, b"", close=True))
        self.close()

    def _linger(self) -> None:
        """Close a connection whose request body is still coming, without losing the answer.

        Closing a socket with unread bytes makes the kernel reset the connection,
        and the reset discards whatever of the answer the client has not yet
        received. As nginx's lingering close does: send the end of the stream
        after the answer, then read and drop what the client still sends, until
        it closes or for ``LINGER_TIME`` seconds at most.
        """
        transport = self.transport
        if not transport.can_write_eof():  # TLS: no half-close to offer
            return self.close()
        self.state = LINGER
        self._drop_backend()
        transport.write_eof()
        self._resume(self.pauses)
        if self.watchdog is not None:
            self.watchdog.cancel()
        self.watchdog = self.server.loop.call_later(LINGER_TIME, self.close)

    def close(self) -> None:
        """Close once what was written is sent; a backend still attached goes too."""
        self.state = CLOSED
        self._drop_backend()
        self.transport.close()

    # reading and timeouts

    def _pause(self, why: int) -> None:
        if not self.pauses:
            self.transport.pause_reading()
        self.pauses |= why

    def _resume(self, why: int) -> None:
        if self.pauses & why:
            self.pauses &= ~why
            if not self.pauses:
                self.transport.resume_reading()
                self.io = True  # quiet while paused was the proxy's doing, not the client's

    def _watch(self) -> None:
        """Enforce the client's deadlines and idle limits; 503 a silent target."""
        server = self.server
        now = server.loop.time()
        if self.io:  # a flag on the hot path; the clock is read only here
            self.io = False
            self.quiet_since = now
        quiet = now - self.quiet_since
        options = server.options
        delay = server.watch_period
        if self.state == HEAD:
            if self.head_since is not None and options.head_timeout:
                left = self.head_since + options.head_timeout - now
                if left <= 0:
                    return self._head_timed_out()
                delay = min(delay, left)  # on time, not up to a period late
            if (not self.buffer and options.keep_alive_timeout
                    and quiet >= options.keep_alive_timeout):
                return self.close()
        elif self.state != TUNNEL:
            # Bytes from either side count: a body that is not read while the response
            # streams is not a stalled body. Paused reading is never the client's stall.
            if (self.state == BODY and options.body_timeout and not self.pauses
                    and quiet >= options.body_timeout):
                return self._body_timed_out(options.body_timeout)
            if options.timeout and quiet >= options.timeout:
                return self.close()
            # Only while a target has the request, as node's socket timeout in CHP:
            # not while connecting, nor for a websocket handshake.
            if (options.proxy_timeout and quiet >= options.proxy_timeout
                    and self.backend is not None and not self.upgrade):
                self._target_silent(options.proxy_timeout)
                if self.state == CLOSED:
                    return
        self.watchdog = server.loop.call_later(delay, self._watch)

    def _head_timed_out(self) -> None:
        """No whole request head by --head-timeout: 408 for a started head, else just close.

        A started head gets 408 and Connection: close, as HAProxy answers, so that a
        slow but honest client learns why; a connection that sent nothing is a
        browser's preconnect or an idle keep-alive, closed silently as nginx and
        HAProxy (``http-ignore-probes``) do, since browsers show a 408 there as an error.
        """
        log.debug("408 from %s: no whole request head within %g s (--head-timeout)",
                  self.peer.decode(), self.server.options.head_timeout)
        if self.buffer:
            self.transport.write(response(408, b"", close=True))
        self.close()

    def _body_timed_out(self, timeout: float) -> None:
        """The request body stalled for --body-timeout: 408 unless a response began; close."""
        log.debug("408 %s from %s: the request body stalled for %g s (--body-timeout)",
                  (self.method + b" " + self.url.split(b"?")[0]).decode("latin-1"),
                  self.peer.decode(), timeout)
        self._reject(408)

    def _target_silent(self, timeout: float) -> None:
        """The target kept quiet past --proxy-timeout: 503, or an end to a started response."""
        if self.responded:
            return self.close()
        self._drop_backend()
        self.io = True  # the 503 is traffic: keep-alive idleness counts from here
        self.fail(503, TimeoutError(f"the target sent nothing for {timeout:g} s "
                                    "(--proxy-timeout)"))
