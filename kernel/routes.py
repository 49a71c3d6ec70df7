"""Keeping the proxy's routing table right: add and remove routes, reconcile, supervise.

The hub owns the routes it adds (marked in the proxy) and nothing else: the
hub's own route (``/``, the default for every request no server claims) and
one route per ready server. ``check_routes`` makes the proxy match that,
adding what is missing or wrong and deleting stale hub routes; it runs at
start-up, every ``proxy_check_interval``, and at once after the proxy was
restarted, so running servers are unreachable for as short a time as
possible.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel.hub import Hub
    from kernel.users import Server

log = logging.getLogger("kernelhub.proxy")

#: The hub's route: every request that no more specific route claims.
HUB_ROUTESPEC = "/"


class RouteKeeper:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._checking = asyncio.Lock()
        self._supervisor: asyncio.Task[None] | None = None
        #: Routespecs of servers this hub has routed (the proxy may hold more).
        self._routed: set[str] = set()

    def server_route(self, server: Server) -> tuple[str, str, dict[str, Any]]:
        """(routespec, target, data) of a running server."""
        assert server.url is not None
        return (server.prefix(self.hub.urls.base_url), server.url,
                {"user": server.user.name, "server_name": server.name})

    async def add_server(self, server: Server) -> None:
        routespec, target, data = self.server_route(server)
        await self._add(routespec, target, data)

    async def remove_server(self, server: Server) -> None:
        """Remove a server's route, if the hub routed it (once, however often asked)."""
        routespec = server.prefix(self.hub.urls.base_url)
        if routespec not in self._routed:
            return
        began = time.monotonic()
        status = "success"
        try:
            await self.hub.proxy.delete_route(routespec)
        except Exception:
            status = "failure"
            raise
        finally:
            self.hub.measure("proxy_delete_duration_seconds", "timing",
                             time.monotonic() - began, status=status)
        self._routed.discard(routespec)
        self.hub.emit("route.removed", routespec=routespec)

    async def _add(self, routespec: str, target: str, data: dict[str, Any]) -> None:
        began = time.monotonic()
        status = "success"
        try:
            await self.hub.proxy.add_route(routespec, target, data)
        except Exception:
            status = "failure"
            raise
        finally:
            self.hub.measure("proxy_add_duration_seconds", "timing", time.monotonic() - began,
                             status=status)
        if routespec != HUB_ROUTESPEC:
            self._routed.add(routespec)
        self.hub.emit("route.added", routespec=routespec, target=target)

    def wanted_routes(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """routespec -> (target, data) for the hub and every ready server."""
        wanted = {HUB_ROUTESPEC: (self.hub.urls.hub_target, {"hub": True})}
        for server in self.hub.lifecycle.active:
            if server.ready:
                routespec, target, data = self.server_route(server)
                wanted[routespec] = (target, data)
        return wanted

    async def check_routes(self) -> None:
        """Make the proxy's hub routes exactly the wanted ones (one check at a time)."""
        async with self._checking:
            began = time.monotonic()
            routes = await self.hub.proxy.get_all_routes()
            wanted = self.wanted_routes()
            # A server still starting, or being checked after a restart, may already be
            # routed; leave its route alone until it settles.
            unsettled = {s.prefix(self.hub.urls.base_url) for s in self.hub.lifecycle.active
                         if s.pending in ("spawn", "check")}
            for routespec, (target, data) in wanted.items():
                current = routes.get(routespec)
                if current is None or current["target"] != target:
                    log.info("Adding missing route %s -> %s", routespec, target)
                    await self._add(routespec, target, data)
            for routespec in routes.keys() - wanted.keys() - unsettled:
                log.info("Deleting stale route %s", routespec)
                await self.hub.proxy.delete_route(routespec)
                self._routed.discard(routespec)
                self.hub.emit("route.removed", routespec=routespec)
            self.hub.measure("check_routes_duration_seconds", "timing",
                             time.monotonic() - began)

    def supervise(self) -> None:
        """Check the proxy every proxy_check_interval; restart it and re-route if it died."""
        self._supervisor = asyncio.create_task(self._supervise(), name="proxy supervisor")

    async def _supervise(self) -> None:
        interval = self.hub.config.hub.proxy_check_interval
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check_proxy()
            except Exception:
                log.exception("Checking the proxy failed; trying again in %s s", interval)

    async def check_proxy(self) -> None:
        """Restart a dead proxy the hub started, then fix its routes."""
        proxy = self.hub.proxy
        if proxy.should_start and not await proxy.is_running():
            log.warning("The proxy is not running; restarting it")
            await proxy.start()
        await self.check_routes()

    async def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
