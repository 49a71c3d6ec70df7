"""kernel-proxy's REST API: configurable-http-proxy's ``/api/routes``, on a small HTTP/1.1 server.

The API is not on the hot path, so requests are read whole (up to
``MAX_BODY`` bytes) and answered synchronously from the in-memory table.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote

import httptools

from plugins.kernel_proxy.routing import RouteTable, parse_iso8601

log = logging.getLogger("kernelhub.kernel_proxy.api")

MAX_BODY = 10 * 1024 * 1024
_ROUTES_PATH = re.compile(rb"^/api/routes(/.*)?$")
_TOKEN = re.compile(r"token\s+(\S+)", re.IGNORECASE)

Reply = tuple[int, bytes]


class RoutesApi:
    """What the API answers, apart from how the bytes travel."""

    def __init__(self, table: RouteTable, auth_token: str) -> None:
        self.table = table
        self.auth_token = auth_token

    def authorized(self, authorization: str | None) -> bool:
        """CHP's check: ``Authorization: token <t>``; anything goes without a token."""
        if not self.auth_token:
            return True
        match = _TOKEN.search(authorization or "")
        # As bytes: compare_digest refuses a str with non-ASCII characters, and the header
        # is whatever the client sent.
        return match is not None and hmac.compare_digest(
            match[1].encode("utf-8", "surrogatepass"), self.auth_token.encode())

    def handle(self, method: str, url: bytes, authorization: str | None, body: bytes) -> Reply:
        """Answer one request: (status, JSON or text body)."""
        raw_path, _, query = url.partition(b"?")
        match = _ROUTES_PATH.match(raw_path)
        if match is None:
            return 404, b"Not Found"
        if method not in ("GET", "POST", "DELETE"):
            return 405, b"Method not supported"
        if not self.authorized(authorization):
            log.debug("Rejecting API request from: %s", authorization or "no authorization")
            return 403, b""
        path = unquote(match[1].decode("utf-8", "surrogateescape")) if match[1] else None
        if method == "GET":
            if path and path != "/":
                return self.get_route(path)
            return self.get_routes(query.decode("latin-1"))
        if method == "POST":
            return self.post_route(path or "/", body)
        return self.delete_route(path or "/")

    def get_route(self, path: str) -> Reply:
        self.table.flush_activity()
        route = self.table.get(path)
        if route is None:
            return 404, b""
        return 200, json.dumps(route.to_json()).encode()

    def get_routes(self, query: str) -> Reply:
        params = parse_qs(query)
        since_text = (params.get("inactiveSince") or params.get("inactive_since") or [""])[0]
        since = None
        if since_text:
            try:
                since = parse_iso8601(since_text)
            except ValueError:
                return 400, f"Invalid datestamp '{since_text}' must be ISO8601.".encode()
        self.table.flush_activity()
        routes = {
            prefix: route.to_json() for prefix, route in self.table.routes().items()
            if since is None or route.last_activity < since
        }
        return 200, json.dumps(routes).encode()

    def post_route(self, path: str, body: bytes) -> Reply:
        try:
            data: Any = json.loads(body)
        except ValueError as e:
            return 400, f"Body not valid JSON: {e}".encode()
        if not isinstance(data, dict) or not isinstance(data.get("target"), str):
            log.warning("Bad POST data: %s", body[:200].decode("utf-8", "replace"))
            return 400, b"Must specify 'target' as string"
        route = self.table.add(path, data)
        log.info("Route added %s -> %s", route.prefix, data["target"])
        if route.target is None:
            log.warning("Route %s has a target that is not an http(s) URL (%s): "
                        "its requests will fail", route.prefix, data["target"])
        return 201, b""

    def delete_route(self, path: str) -> Reply:
        if not self.table.remove(path):
            return 404, b""
        log.info("Removed route %s", path)
        return 204, b""


class ApiConnection(asyncio.Protocol):
    """One HTTP/1.1 connection to the API port (keep-alive, requests answered in order)."""

    def __init__(self, api: RoutesApi) -> None:
        self.api = api
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self._url = b""
        self._authorization: str | None = None
        self._body: list[bytes] = []
        self._size = 0
        self._keep_alive = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream server gives its protocols a Transport; asyncio's stubs say BaseTransport.
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._reply(400, b"Upgrades are not supported here", close=True)
        except httptools.HttpParserError as e:
            self._reply(400, f"Bad request: {e}".encode(), close=True)

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url = b""
        self._authorization = None
        self._body = []
        self._size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"authorization":
            self._authorization = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_BODY:
            self._reply(413, b"Request body too large", close=True)
            raise httptools.HttpParserError("request body too large")
        self._body.append(body)

    def on_message_complete(self) -> None:
        method = self.parser.get_method().decode("ascii", "replace")
        status, body = self.api.handle(method, self._url, self._authorization,
                                       b"".join(self._body))
        level = logging.INFO if status < 400 else logging.WARNING
        log.log(level, "%s %s %s", status, method, self._url.split(b"?")[0].decode("latin-1"))
        self._reply(status, body, close=not self._keep_alive)

    def _reply(self, status: int, body: bytes, close: bool) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        content_type = b"application/json" if body[:1] in (b"{", b"[") else b"text/plain"
        head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}".encode()]
        if body:
            head.append(b"Content-Type: " + content_type)
        head.append(b"Content-Length: %d" % len(body))
        if close:
            head.append(b"Connection: close")
        transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        if close:
            transport.close()
