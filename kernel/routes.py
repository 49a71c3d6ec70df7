"""Keeping the proxy's routing table right: add and remove routes, reconcile, supervise.

The hub owns the routes it adds (marked in the proxy) and nothing else: the
hub's own route (``/``, the default for every request no server claims), one
route per service with a URL (``/services/NAME/``) and one per ready
server. ``check_routes`` makes the proxy match that, adding what is missing
or wrong and deleting stale hub routes; it runs at
start-up, every ``proxy_check_interval``, and at once after the proxy was
restarted, so running servers are unreachable for as short a time as
possible.

Every ``last_activity_interval`` the proxy's ``last_activity`` of each
server's route is folded into the server's and its user's activity, which is
how the hub (and the idle culler) learns that people use their servers. All
of this runs in background tasks; no request waits on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kernel.proxy import ProxyError

if TYPE_CHECKING:
    from kernel.hub import Hub
    from kernel.services import Service
    from kernel.users import Server, User

log = logging.getLogger("kernelhub.proxy")

#: The hub's route: every request that no more specific route claims.
HUB_ROUTESPEC = "/"

#: Requests to the proxy API in flight at once while reconciling (JupyterHub's concurrency).
API_CONCURRENCY = 10

#: While the hub shuts down, how long removing a route waits for a proxy that does not
#: answer (the proxy plugin's own retries may last far longer); the next hub's first
#: check of the proxy deletes what is left.
SHUTDOWN_ROUTE_TIMEOUT = 5.0


class RouteKeeper:
    """The hub's side of the routing table: one per hub, at ``hub.routes``."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._checking = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        #: Set to check the proxy now rather than at the end of the interval.
        self._check_now = asyncio.Event()
        #: Routespecs of servers this hub has routed (the proxy may hold more).
        self._routed: set[str] = set()
        #: The hub routes the proxy holds: as last read, then as changed since (None until
        #: the proxy was first read).
        self._in_proxy: set[str] | None = None
        self._shutting_down = False

    def server_route(self, server: Server) -> tuple[str, str, dict[str, Any]]:
        """(routespec, target, data) of a running server."""
        assert server.url is not None
        return (server.routespec(self.hub.urls), server.url,
                {"user": server.user.name, "server_name": server.name})

    async def add_server(self, server: Server) -> None:
        routespec, target, data = self.server_route(server)
        await self._add(routespec, target, data)

    async def remove_server(self, server: Server) -> None:
        """Remove a server's route, if the hub routed it (once, however often asked).

        A proxy that fails to remove it is logged, not raised: stopping the server
        goes on, and the next ``check_routes`` deletes the stale route.
        """
        await self._remove(server.routespec(self.hub.urls))

    def service_route(self, service: Service) -> tuple[str, str, dict[str, Any]]:
        """(routespec, target, data) of a service with a URL. As in JupyterHub, the
        target is the URL's origin: the service answers under its own prefix."""
        assert service.url is not None
        parts = urlsplit(service.url)
        return (service.routespec(self.hub.urls), f"{parts.scheme}://{parts.netloc}",
                {"service": service.name})

    async def add_service(self, service: Service) -> None:
        await self._add(*self.service_route(service))

    async def remove_service(self, service: Service) -> None:
        if service.url:
            await self._remove(service.routespec(self.hub.urls))

    async def _remove(self, routespec: str) -> None:
        if routespec not in self._routed:
            return
        self._routed.discard(routespec)
        began = time.monotonic()
        status = "success"
        try:
            delete = self.hub.proxy.delete_route(routespec)
            await (asyncio.wait_for(delete, SHUTDOWN_ROUTE_TIMEOUT) if self._shutting_down
                   else delete)
        except Exception as error:
            status = "failure"
            # A proxy that is down or slow is expected now and then; anything else is a bug
            # in the proxy plugin, which the traceback helps to find.
            log.warning("Could not remove the route %s (%s); the next check of the proxy "
                        "deletes it", routespec, str(error) or type(error).__name__,
                        exc_info=not isinstance(error, ProxyError | TimeoutError))
        else:
            self._left_proxy(routespec)
        finally:
            self.hub.measure("proxy_delete_duration_seconds", "timing",
                             time.monotonic() - began, status=status)

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
        if self._in_proxy is not None:
            self._in_proxy.add(routespec)
        self.hub.emit("route.added", routespec=routespec,
                      target=self.hub.proxy_hop.redact(target))

    def _left_proxy(self, routespec: str) -> None:
        if self._in_proxy is not None:
            self._in_proxy.discard(routespec)
        self.hub.emit("route.removed", routespec=routespec)

    @property
    def routes_in_proxy(self) -> int | None:
        """How many hub routes the proxy holds (None until the proxy was first read)."""
        return None if self._in_proxy is None else len(self._in_proxy)

    def wanted_routes(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """routespec -> (target, data) for the hub, every service with a URL and every
        ready server."""
        # The secret path tells the hub which requests its proxy forwarded (whose
        # X-Forwarded-For it may believe): see kernel.web.client_address.
        wanted = {HUB_ROUTESPEC: (self.hub.proxy_hop.target(self.hub.urls.hub_target),
                                  {"hub": True})}
        for service in self.hub.services:
            if service.url:
                routespec, target, data = self.service_route(service)
                wanted[routespec] = (target, data)
        for server in self.hub.lifecycle.active:
            if server.ready:
                routespec, target, data = self.server_route(server)
                wanted[routespec] = (target, data)
        return wanted

    async def check_routes(self) -> None:
        """Make the proxy's hub routes exactly the wanted ones (one check at a time)."""
        async with self._checking:
            began = time.monotonic()
            routes = await self.poll_routes()
            wanted = self.wanted_routes()
            # A server still starting, or being checked after a restart, may already be
            # routed; leave its route alone until it settles.
            unsettled = {s.routespec(self.hub.urls) for s in self.hub.lifecycle.active
                         if s.pending in ("spawn", "check")}
            missing = [(spec, target, data) for spec, (target, data) in wanted.items()
                       if spec not in routes or routes[spec]["target"] != target]
            for routespec, target, _ in missing:
                log.info("Adding missing route %s -> %s", routespec,
                         self.hub.proxy_hop.redact(target))
            # All at once (a few in flight): after a proxy restart every server is
            # unreachable until its route is back.
            await _bounded(self._add(*route) for route in missing)
            await _bounded(self._delete_stale(spec)
                           for spec in routes.keys() - wanted.keys() - unsettled)
            self.hub.measure("check_routes_duration_seconds", "timing",
                             time.monotonic() - began)

    async def _delete_stale(self, routespec: str) -> None:
        log.info("Deleting stale route %s", routespec)
        await self.hub.proxy.delete_route(routespec)
        self._routed.discard(routespec)
        self._left_proxy(routespec)

    async def poll_routes(self) -> dict[str, dict[str, Any]]:
        """The proxy's hub routes (``get_all_routes``), measured as JupyterHub measures it."""
        began = time.monotonic()
        routes = await self.hub.proxy.get_all_routes()
        self.hub.measure("proxy_poll_duration_seconds", "timing", time.monotonic() - began)
        self._in_proxy = set(routes)
        return routes

    # -- activity -----------------------------------------------------------------

    async def fold_activity(self) -> None:
        """Fold each server route's ``last_activity`` into its server's and user's activity.

        A time within ``activity_resolution`` of the stored one is not written,
        so a quiet hub does no database writes at all; each user is written
        once per call, however many servers they have.
        """
        routes = await self.poll_routes()
        by_user: dict[str, tuple[User, list[tuple[Server, datetime]]]] = {}
        for route in routes.values():
            data = route["data"]
            when = _timestamp(data.get("last_activity"))
            user = self.hub.users.get(data.get("user", ""))
            server = user.server(data.get("server_name", "")) if user else None
            if when is None or user is None or server is None:
                continue  # the hub's route, or a route for a user who is gone
            by_user.setdefault(user.name, (user, []))[1].append((server, when))
        resolution = self.hub.config.hub.activity_resolution
        for user, servers in by_user.values():
            latest = max(when for _, when in servers)
            await self.hub.users.record_activity(user, latest, servers, resolution)

    # -- supervision ----------------------------------------------------------------

    def supervise(self) -> None:
        """Start the background checks of the proxy and of its activity.

        The proxy is checked every ``proxy_check_interval`` and at once when it
        dies; its activity is folded in every ``last_activity_interval``.
        """
        options = self.hub.config.hub
        self._tasks = [
            asyncio.create_task(self._supervise(options.proxy_check_interval),
                                name="proxy supervisor"),
            asyncio.create_task(self._fold_activity_every(options.last_activity_interval),
                                name="proxy activity"),
        ]

    def check_soon(self) -> None:
        """Check the proxy now instead of at the end of the interval (it just died)."""
        self._check_now.set()

    async def _supervise(self, interval: float) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._check_now.wait(), interval)
            self._check_now.clear()
            await _logged(self.check_proxy(), "Checking the proxy", interval)

    async def _fold_activity_every(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await _logged(self.fold_activity(), "Updating activity from the proxy", interval)

    async def check_proxy(self) -> None:
        """Restart a dead proxy the hub started, then fix its routes."""
        proxy = self.hub.proxy
        if proxy.should_start and not await proxy.is_running():
            log.warning("The proxy is not running; restarting it")
            await proxy.start()
        await self.check_routes()

    async def stop(self) -> None:
        """Stop checking the proxy; from now on, route removals do not wait long."""
        self._shutting_down = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []


async def _bounded(jobs: Iterable[Awaitable[None]]) -> None:
    """Run ``jobs`` with at most API_CONCURRENCY at a time; all run, the first error raises."""
    slots = asyncio.Semaphore(API_CONCURRENCY)

    async def run(job: Awaitable[None]) -> None:
        async with slots:
            await job

    results = await asyncio.gather(*(run(job) for job in jobs), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]


async def _logged(job: Awaitable[None], what: str, interval: float) -> None:
    """Await a periodic job; a failure is logged and tried again next time."""
    try:
        await job
    except Exception:
        log.exception("%s failed; trying again in %s s", what, interval)


def _timestamp(value: Any) -> datetime | None:
    """A route's ``last_activity`` (ISO 8601, ``Z`` for UTC) as an aware datetime."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
