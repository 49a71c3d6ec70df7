"""The Proxy contract, and a client for configurable-http-proxy's REST API.

A proxy plugin implements the ``route`` hook and returns a ``Proxy``. The hub
keeps the routing table right through ``add_route``, ``delete_route`` and
``get_all_routes`` (see ``kernel.routes``) and, when ``should_start`` is on,
starts and supervises the proxy with ``start``/``stop``/``is_running``.

A *routespec* is a URL path prefix with a trailing slash (``/user/alice/``),
or ``host/path/`` when routing by host (``subdomain_host``). A route's
*target* is the URL requests for that prefix go to; its *data* is a JSON dict
the hub stores with it (``{"user": "alice", "server_name": ""}``).

Both built-in proxies speak configurable-http-proxy's REST API, so
``RESTProxy`` implements the routing methods once for both; a plugin only adds
how its process is started.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import httpx

if TYPE_CHECKING:
    from kernel.hub import Hub


class ProxyError(Exception):
    """The proxy could not be reached or refused a request; the message says which."""


class Proxy(ABC):
    """The routing table of the public address."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.should_start: bool = hub.config.proxy.should_start

    async def start(self) -> None:  # noqa: B027 - optional for proxies run separately
        """Start the proxy (only called when ``should_start``); return once it serves."""

    async def stop(self) -> None:  # noqa: B027
        """Stop a proxy the hub started."""

    async def is_running(self) -> bool:
        """Whether the proxy the hub started is still alive (True for external ones)."""
        return True

    @abstractmethod
    async def add_route(self, routespec: str, target: str, data: dict[str, Any]) -> None:
        """Route requests under ``routespec`` to ``target``; replaces an existing route."""

    @abstractmethod
    async def delete_route(self, routespec: str) -> None:
        """Remove a route; removing a route that does not exist is not an error."""

    @abstractmethod
    async def get_all_routes(self) -> dict[str, dict[str, Any]]:
        """The hub's routes: routespec -> {"routespec", "target", "data"}.

        Only routes the hub added; ``data`` carries what the hub stored plus
        the proxy's ``last_activity`` (ISO 8601) when it tracks one.
        """


class RESTProxy(Proxy):
    """A proxy driven through configurable-http-proxy's REST API at ``[proxy] api_url``."""

    #: How long a request to the proxy API keeps retrying connection errors and 5xx.
    api_retry_seconds = 30.0

    def __init__(self, hub: Hub) -> None:
        super().__init__(hub)
        options = hub.config.proxy
        self.api_url: str = options.api_url.rstrip("/")
        self.auth_token: str = (options.auth_token or os.environ.get("CONFIGPROXY_AUTH_TOKEN")
                                or (secrets.token_hex(32) if self.should_start else ""))
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                headers={"Authorization": f"token {self.auth_token}"},
                timeout=httpx.Timeout(10.0), trust_env=False,
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
            spec = routespec_from_api_path(path)
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
    """``/user/alice/`` -> ``/user/alice`` as the API path (``/`` stays ``/``), escaped."""
    path = routespec if routespec == "/" else routespec.rstrip("/")
    if not path.startswith("/"):
        path = "/" + path  # host routing: "host/path/" -> "/host/path"
    return quote(path, safe="/@:")


def routespec_from_api_path(path: str) -> str:
    """The inverse of ``api_path``: the API's keys have no trailing slash."""
    path = unquote(path)
    return path if path.endswith("/") else path + "/"
