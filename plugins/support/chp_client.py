"""A client for configurable-http-proxy's REST API, the routing half of a ``Proxy``.

Both built-in proxies (kernel-proxy and configurable-http-proxy) speak this
API, so ``RESTProxy`` implements the routing methods once for both; a proxy
the hub does not start (``[proxy] should_start = false``) is driven by it
alone.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from kernel.proxy import Proxy, ProxyError
from kernel.urls import escape_path_segment

if TYPE_CHECKING:
    from kernel.hub import Hub

log = logging.getLogger("kernelhub.proxy")


class RESTProxy(Proxy):
    """A proxy driven through configurable-http-proxy's REST API at ``[proxy] api_url``."""

    #: How long a request to the proxy API keeps retrying connection errors and 5xx.
    api_retry_seconds = 30.0

    def __init__(self, hub: Hub) -> None:
        super().__init__(hub)
        options = hub.config.proxy
        self.api_url: str = options.api_url.rstrip("/")
        if hub.tls is not None and self.should_start and self.api_url.startswith("http://"):
            # The hub starts the proxy with its API on TLS (ProcessProxy).
            if options.is_set("api_url"):
                log.warning("[proxy] api_url: using https, as internal TLS is on")
            self.api_url = "https://" + self.api_url.removeprefix("http://")
        self.auth_token: str = (options.auth_token or os.environ.get("CONFIGPROXY_AUTH_TOKEN")
                                or (secrets.token_hex(32) if self.should_start else ""))
        if not self.auth_token:
            # As JupyterHub: without the token, every call to the proxy would be refused.
            raise hub.config.error(
                "a proxy the hub does not start needs the token it was started with: set "
                "[proxy] auth_token (or CONFIGPROXY_AUTH_TOKEN)", "proxy", "auth_token")
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            tls = self.hub.tls
            self._client = httpx.AsyncClient(
                headers={"Authorization": f"token {self.auth_token}"},
                timeout=httpx.Timeout(10.0), trust_env=False,
                verify=tls.hub.client_context() if tls is not None else True,
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def api_request(self, method: str, path: str, body: dict[str, Any] | None = None,
                          *, retry_seconds: float | None = None) -> httpx.Response:
        """One API call; connection errors and 5xx are retried with back-off."""
        url = f"{self.api_url}/api/routes{path}"
        deadline = asyncio.get_running_loop().time() + (
            self.api_retry_seconds if retry_seconds is None else retry_seconds)
        delay = 0.05
        while True:
            try:
                response = await self.client.request(method, url, json=body)
            except httpx.TransportError as e:
                problem = f"cannot reach the proxy API at {self.api_url}: {e!r}"
            else:
                if response.status_code < 500:
                    return response
                problem = f"the proxy API answered {response.status_code} to {method} {url}"
            if asyncio.get_running_loop().time() + delay > deadline:
                raise ProxyError(problem)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def add_route(self, routespec: str, target: str, data: dict[str, Any]) -> None:
        body = {**data, "target": target, "jupyterhub": True}
        response = await self.api_request("POST", api_path(routespec), body)
        if response.status_code >= 300:
            raise ProxyError(f"the proxy refused the route {routespec} -> {target}: "
                             f"{response.status_code} {response.text[:200]}")

    async def delete_route(self, routespec: str) -> None:
        response = await self.api_request("DELETE", api_path(routespec))
        if response.status_code >= 300 and response.status_code != 404:
            raise ProxyError(f"the proxy refused to delete the route {routespec}: "
                             f"{response.status_code}")

    async def get_all_routes(self) -> dict[str, dict[str, Any]]:
        response = await self.api_request("GET", "")
        if response.status_code != 200:
            raise ProxyError(f"the proxy API answered {response.status_code} when listing "
                             "routes (is [proxy] auth_token right?)")
        routes = {}
        for path, data in response.json().items():
            if not data.pop("jupyterhub", False):
                continue  # someone else's route: leave it alone
            target = data.pop("target", None)
            spec = routespec_from_api_path(path, host_routing=bool(self.hub.urls.subdomain_host))
            routes[spec] = {"routespec": spec, "target": target, "data": data}
        return routes

    async def api_is_up(self) -> bool:
        """Whether the API answers a route listing right now (no retries)."""
        try:
            response = await self.api_request("GET", "", retry_seconds=0)
        except ProxyError:
            return False
        return response.status_code == 200


def api_path(routespec: str) -> str:
    """``/user/alice/`` -> ``/user/alice``: the routespec as the path of its API URL.

    A routespec is already an escaped URL path (``/user/a%20b/``, as
    ``Server.prefix`` makes it): its escapes are kept, not escaped again. The
    proxy decodes the API path once, so its key for the route, ``/user/a b``,
    is what it matches decoded request paths against.
    """
    path = routespec if routespec == "/" else routespec.rstrip("/")
    if not path.startswith("/"):
        path = "/" + path  # host routing: "host/path/" -> "/host/path"
    return quote(path, safe="/%@:")


def routespec_from_api_path(key: str, *, host_routing: bool = False) -> str:
    """The inverse of ``api_path``: an API route key (decoded, no trailing slash) as a routespec.

    Escaped as ``Server.prefix`` escapes user and server names, so that the
    routes read back compare equal to the ones the hub wants. With host routing
    a key other than ``/`` starts with a host: ``/alice.hub.example.org/user/alice``
    is ``alice.hub.example.org/user/alice/``.
    """
    path = "/".join(escape_path_segment(segment) for segment in key.split("/"))
    if host_routing and path != "/":
        path = path.removeprefix("/")
    return path if path.endswith("/") else path + "/"
