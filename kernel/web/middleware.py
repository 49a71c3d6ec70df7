"""The hub's own middleware: JupyterHub's response headers, and one access record per request.

Both are plain ASGI callables (no per-request objects beyond what the
request needs), because they run on every request the hub answers.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from typing import TYPE_CHECKING

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from kernel.hub import Hub

access_log = logging.getLogger("kernelhub.access")

_SECRET_ARGUMENTS = re.compile(r"(?i)\b(token|_xsrf|code|client_secret)=[^&]*")


class HubHeaders:
    """``X-JupyterHub-Version``, the Content-Security-Policy and CORS headers on every answer."""

    def __init__(self, app: ASGIApp, hub: Hub) -> None:
        self.app = app
        self.version = hub.api_version
        self.api_prefix = hub.urls.hub_prefix + "api"
        report = f"report-uri {hub.urls.hub_prefix}security/csp-report"
        self.page_csp = f"frame-ancestors 'none'; {report}"
        self.api_csp = f"{self.page_csp}; default-src 'none'"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = self.api_csp if scope["path"].startswith(self.api_prefix) else self.page_csp

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-JupyterHub-Version"] = self.version
                headers["Access-Control-Allow-Headers"] = "accept, content-type, authorization"
                headers.setdefault("Content-Security-Policy", csp)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AccessLog:
    """One log line and one ``request`` event per request; secrets in the URL are redacted."""

    def __init__(self, app: ASGIApp, hub: Hub) -> None:
        self.app = app
        self.hub = hub
        self.quiet_prefixes = (hub.urls.hub_prefix + "static/", hub.urls.hub_prefix + "health",
                               hub.urls.hub_prefix + "api/health")
        self.trusted = [ipaddress.ip_network(n, strict=False)
                        for n in hub.config.hub.trusted_downstream_ips]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            self._record(scope, status, time.perf_counter() - began)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        path = scope["path"] + ("?" + _SECRET_ARGUMENTS.sub(r"\1=[secret]", query) if query
                                else "")
        identity = scope.get("state", {}).get("identity")
        user = identity.user.name if identity is not None else ""
        client = self.client_address(scope)
        method = scope["method"]
        level = (logging.ERROR if status >= 500 else logging.WARNING if status >= 400
                 else logging.DEBUG if scope["path"].startswith(self.quiet_prefixes)
                 else logging.INFO)
        access_log.log(level, "%d %s %s (%s@%s) %.2fms", status, method, path, user or "-",
                       client, seconds * 1000)
        endpoint = scope.get("endpoint")
        handler = (f"{endpoint.__module__}.{endpoint.__qualname__}" if endpoint is not None
                   else "unmatched")
        self.hub.emit("request", method=method, path=path, status=status, user=user,
                      client=client, duration_ms=round(seconds * 1000, 3))
        self.hub.measure("request_duration_seconds", "timing", seconds, method=method,
                         handler=handler, code=str(status))

    def client_address(self, scope: Scope) -> str:
        """The client, from X-Forwarded-For as far as the proxies in front are trusted.

        The hub's direct peer is its proxy (on loopback) or a trusted address;
        entries are read from the right, skipping trusted proxies.
        """
        peer = scope["client"][0] if scope.get("client") else "-"
        chain = [peer]
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                chain = [a.strip() for a in value.decode("latin-1").split(",")] + chain
        for address in reversed(chain):
            if not self._trusted(address):
                return address
        return chain[0]

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return ip.is_loopback or any(ip in network for network in self.trusted)
