"""kernel-proxy's ``--redirect-port`` listener: plain HTTP answered with a 301 to https.

Each connection gets one answer and is closed: the client follows the
redirect to another port anyway, so keeping it alive would gain nothing.
"""

from __future__ import annotations

import asyncio

import httptools

from plugins.kernel_proxy.http1 import MAX_HEAD, origin_form, response

#: Seconds a connection has to send its whole request (node's headersTimeout in CHP).
REQUEST_TIMEOUT = 60.0

_TEXT = b"Content-Type: text/plain; charset=utf-8\r\n"


class RedirectConnection(asyncio.Protocol):
    """One connection to the redirect port: its request is answered with a redirect to https."""

    def __init__(self, https_port: int) -> None:
        self.https_port = https_port
        # None only until connection_made, which asyncio calls before any other method.
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.host = b""
        self.head_size = 0
        self.head_done = False
        self.deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream server gives its protocols a Transport; asyncio's stubs say BaseTransport.
        self.transport = transport  # type: ignore[assignment]
        self.deadline = asyncio.get_running_loop().call_later(REQUEST_TIMEOUT, transport.close)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.deadline is not None:
            self.deadline.cancel()

    def data_received(self, data: bytes) -> None:
        if not self.head_done:
            self.head_size += len(data)
            if self.head_size > MAX_HEAD:
                return self._answer(response(431, b"", close=True))
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # answered: the request was complete
        except httptools.HttpParserError:
            self._answer(response(400, b"", close=True))

    # httptools callbacks

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.host and name.lower() == b"host":
            self.host = value.strip()

    def on_headers_complete(self) -> None:
        self.head_done = True

    def on_message_complete(self) -> None:
        if not self.host:
            body = (b"This port only redirects to HTTPS on port %d, and the request has no "
                    b"Host header to redirect to." % self.https_port)
            return self._answer(response(400, body, close=True, headers=_TEXT))
        host = _without_port(self.host)
        if self.https_port != 443:
            host += b":%d" % self.https_port
        url = self.url if self.url[:1] == b"/" else origin_form(self.url)
        self._answer(response(301, b"", close=True,
                              headers=b"Location: https://%s%s\r\n" % (host, url)))

    def _answer(self, data: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(data)
            self.transport.close()


def _without_port(host: bytes) -> bytes:
    """``host[:port]`` -> ``host``; an IPv6 literal keeps its brackets (``[::1]``)."""
    if host[:1] == b"[" and b"]" in host:
        return host[: host.index(b"]") + 1]
    return host.partition(b":")[0]
