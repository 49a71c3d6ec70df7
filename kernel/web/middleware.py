"""The hub's own middleware: JupyterHub's response headers, and one access record per request.

Both are plain ASGI callables (no per-request objects beyond what the
request needs), because they run on every request the hub answers.
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.web.client_address import client_address, trusted_networks

if TYPE_CHECKING:
    from kernel.hub import Hub

access_log = logging.getLogger("kernelhub.access")

#: Query arguments that carry credentials: any name containing token, secret or password
#: (access_token, client_secret), the XSRF token and OAuth's code. OAuth's ``state`` and
#: PKCE's ``code_challenge`` are not secrets, and they help follow a login in the log.
_SECRET_ARGUMENTS = re.compile(
    r"(?i)(?:^|(?<=&))([^&=]*(?:token|secret|password)[^&=]*|_xsrf|code)=[^&]*")
#: The token or cookie value in the path of JupyterHub's (deprecated) authorization checks.
_SECRET_PATH = re.compile(r"(/api/authorizations/(?:token|cookie/[^/]+)/)[^/]+")


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
        self.trusted = trusted_networks(hub.config.hub.trusted_downstream_ips)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            # First, before any route or header looks at the path: the hub's proxy marks
            # what it forwards with a secret path prefix (kernel.web.client_address).
            via_proxy = self.hub.proxy_hop.admit(scope)
            scope.setdefault("state", {})["client_address"] = self.client_address(
                scope, via_proxy)
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500
        location = ""

        async def record_status(message: Message) -> None:
            nonlocal status, location
            if message["type"] == "http.response.start":
                status = message["status"]
                if 300 <= status < 400:
                    location = MutableHeaders(scope=message).get("location", "")
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            self._record(scope, status, location, time.perf_counter() - began)

    def _record(self, scope: Scope, status: int, location: str, seconds: float) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        path = redact(scope["path"] + (f"?{query}" if query else ""))
        identity = scope.get("state", {}).get("identity")
        user = identity.name if identity is not None else ""
        client = scope["state"]["client_address"]
        method = scope["method"]
        level = (logging.ERROR if status >= 500 else logging.WARNING if status >= 400
                 else logging.DEBUG if scope["path"].startswith(self.quiet_prefixes)
                 else logging.INFO)
        # As JupyterHub does, a redirect shows where it sends the browser.
        target = f" -> {redact(location)}" if location else ""
        access_log.log(level, "%d %s %s%s (%s@%s) %.2fms", status, method, path, target,
                       user or "-", client, seconds * 1000)
        self.hub.measure("request_duration_seconds", "timing", seconds, method=method,
                         handler=_handler_name(scope.get("endpoint")), code=str(status))
        self.hub.emit("request", method=method, path=path, status=status, user=user,
                      client=client, duration_ms=round(seconds * 1000, 3))

    def client_address(self, scope: Scope, via_proxy: bool) -> str:
        forwarded = [value.decode("latin-1") for name, value in scope["headers"]
                     if name == b"x-forwarded-for"]
        peer = scope["client"][0] if scope.get("client") else None
        return client_address(peer, forwarded, self.trusted, via_proxy=via_proxy)


def _handler_name(endpoint: object) -> str:
    """module.name of what answered, as JupyterHub's handler label (a Router, StaticFiles
    and other objects without a __qualname__ answer too)."""
    if endpoint is None:
        return "unmatched"
    kind = endpoint if hasattr(endpoint, "__qualname__") else type(endpoint)
    return f"{kind.__module__}.{kind.__qualname__}"


def redact(url: str) -> str:
    """The path and query with credentials replaced by [secret]."""
    path, question, query = url.partition("?")
    return (_SECRET_PATH.sub(r"\1[secret]", path) + question
            + _SECRET_ARGUMENTS.sub(r"\1=[secret]", query))
