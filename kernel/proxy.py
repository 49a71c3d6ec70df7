"""The Proxy contract: what a proxy plugin's ``route`` hook returns.

A proxy plugin implements the ``route`` hook and returns a ``Proxy``. The hub
keeps the routing table right through ``add_route``, ``delete_route`` and
``get_all_routes`` (see ``kernel.routes``) and, when ``should_start`` is on,
starts and supervises the proxy with ``start``/``stop``/``is_running``.

A *routespec* is a URL path prefix with a trailing slash (``/user/alice/``),
or ``host/path/`` when routing by host (``subdomain_host``). A route's
*target* is the URL requests for that prefix go to; its *data* is a JSON dict
the hub stores with it (``{"user": "alice", "server_name": ""}``).

Proxies that speak configurable-http-proxy's REST API build on
``plugins.support.chp_client`` and ``plugins.support.proxy_process``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

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
