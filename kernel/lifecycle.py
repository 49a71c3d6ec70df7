"""Starting and stopping users' servers: spawn, readiness, routing and polling.

A spawn runs in a background task so that the request that asked for it can
answer as soon as the server is ready or after ``slow_spawn_timeout``,
whichever comes first. Whatever happens (a crash, a timeout, a stop request
in the middle), a spawn ends with the server either ready and routed, or
stopped, unrouted, its token revoked and nothing pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import TYPE_CHECKING, Any

from kernel.clock import utcnow
from kernel.errors import HubError
from kernel.hookcall import PluginError
from kernel.readiness import NotReady, wait_for_http
from kernel.server_credentials import give_credentials
from kernel.spawner import server_url

if TYPE_CHECKING:
    from kernel.hub import Hub
    from kernel.spawner import Spawner
    from kernel.users import Server

log = logging.getLogger("kernelhub.servers")


class StartTimeout(HubError):
    """spawner.start() did not return within start_timeout."""


class ServerLifecycle:
    """Spawns, stops, polls and resumes servers for one hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        #: Every server that is not fully stopped (kept so no check walks all users).
        self.active: set[Server] = set()
        #: Spawns that failed in a row (consecutive_failure_limit).
        self.failures_in_a_row = 0
        #: The checks of servers a previous hub left, while they run (a strong reference).
        self.resuming: asyncio.Future[list[object]] | None = None
        #: Shutting down without stopping servers (forget_all): spawns are abandoned, not undone.
        self._forgetting = False

    # -- spawning -------------------------------------------------------------

    def request_spawn(self, server: Server, user_options: dict[str, Any] | None = None
                      ) -> asyncio.Task[None]:
        """Begin starting ``server``; the task ends when it is ready or the spawn failed.

        A spawn already in flight is returned as it is. Raises HubError 400
        when the server is running or stopping, 429 when a limit is reached.
        """
        if server.pending == "spawn" and server.task is not None:
            return server.task
        if server.pending is not None:
            raise HubError(400, f"{server.log_name} is pending {server.pending}")
        if server.ready:
            raise HubError(400, f"{server.log_name} is already running")
        self._check_limits()
        if user_options is not None:
            server.user_options = user_options
        server.pending = "spawn"
        self.active.add(server)
        server.progress.reset()
        server.progress.add({"progress": 0, "message": "Server requested"})
        self.hub.emit("spawn.requested", user=server.user.name, server=server.name)
        server.task = asyncio.create_task(self._spawn(server), name=f"spawn {server.log_name}")
        return server.task

    def _check_limits(self) -> None:
        options = self.hub.config.hub
        spawning = sum(1 for s in self.active if s.pending == "spawn")
        if options.concurrent_spawn_limit and spawning >= options.concurrent_spawn_limit:
            retry = random.randint(30, 60)
            self.hub.measure("server_spawn_duration_seconds", "timing", 0,
                             status="failure", reason="throttled")
            raise HubError(429, f"Too many users trying to log in right now. Try again in "
                                f"{retry} seconds.", headers={"Retry-After": str(retry)})
        if options.active_server_limit and len(self.active) >= options.active_server_limit:
            retry = random.randint(30, 60)
            self.hub.measure("server_spawn_duration_seconds", "timing", 0,
                             status="failure", reason="too-many-users")
            raise HubError(429, "Active user limit exceeded. Try again in a few minutes.",
                           headers={"Retry-After": str(retry)})

    async def _spawn(self, server: Server, resumed: Spawner | None = None) -> None:
        """Start ``server``; ``resumed``: continue the start a previous hub began."""
        hub = self.hub
        began = time.monotonic()
        spawner = resumed
        try:
            if spawner is None:
                if hub.config.auth.refresh_pre_spawn and not await hub.logins.refresh(
                        server.user, force=True):
                    raise HubError(403, "Your login has expired: log in again to start a "
                                        "server")
                spawner = server.spawner = hub.new_spawner(server)
                spawner.load_user_options(server.user_options or {})
                await give_credentials(self.hub, spawner, server)
                await hub.hooks.pre_spawn_start(user=server.user, spawner=spawner)
            server.url = await self._start(spawner, server)
            server.state = spawner.get_state()
            server.started = server.last_activity = utcnow()
            await hub.users.save_server(server)
            # Starting a server is activity of its user, as in JupyterHub.
            await hub.users.record_activity(server.user, server.started, [], 0)
            server.progress.add({"progress": 90, "message": "Server started; waiting for it "
                                                            "to answer"})
            prefix = server.prefix(hub.urls.base_url)
            assert hub.http is not None  # servers start only while the hub runs
            await wait_for_http(hub.http, f"{server.url}{prefix}api", spawner.http_timeout,
                                exit_status=spawner.poll)
            status = await spawner.poll()
            if status is not None:
                # Something else answered at its address: routing there would send this
                # user to someone else's server.
                raise NotReady(f"the server exited with status {status}, and something else "
                               f"answers at {server.url}", exited=True)
            await hub.routes.add_server(server)
        except asyncio.CancelledError:
            if self._forgetting and server.state:
                # Shutting down without cleanup_servers: the spawner saved where its server
                # is, so the next hub continues this start instead of losing the server.
                log.info("Leaving the start of %s to the next hub", server.log_name)
                return
            log.info("Spawn of %s cancelled", server.log_name)
            server.progress.finish({"progress": 100, "failed": True,
                                    "message": "Spawn cancelled"})
            await asyncio.shield(self.cleanup(server, spawner, stop=True))
            return
        except Exception as e:
            message = describe(e)
            log.error("Spawn of %s failed: %s", server.log_name, message,
                      exc_info=not isinstance(e, HubError | NotReady | TimeoutError))
            if isinstance(e, HubError) and 400 <= e.status < 500:
                server.progress.failure_status = e.status
            server.progress.finish({"progress": 100, "failed": True,
                                    "message": f"Spawn failed: {message}"})
            hub.emit("spawn.failed", user=server.user.name, server=server.name, error=message)
            hub.measure("server_spawn_duration_seconds", "timing", time.monotonic() - began,
                        status="failure", reason=_failure_reason(e))
            await asyncio.shield(self.cleanup(server, spawner, stop=True))
            self._count_failure()
            return
        server.pending = None
        self.failures_in_a_row = 0
        elapsed = time.monotonic() - began
        link = server.link(hub.urls)
        server.progress.finish({
            "progress": 100, "ready": True, "message": f"Server ready at {link}",
            "html_message": f'Server ready at <a href="{link}">{link}</a>', "url": link,
        })
        log.info("Server %s is ready at %s after %.2f s", server.log_name, server.url, elapsed)
        hub.emit("spawn.ready", user=server.user.name, server=server.name, url=server.url,
                 duration=elapsed)
        hub.measure("server_spawn_duration_seconds", "timing", elapsed, status="success",
                    reason="")
        self.watch(server)

    def _count_failure(self) -> None:
        """Shut down after consecutive_failure_limit failures in a row, as JupyterHub does."""
        self.failures_in_a_row += 1
        limit = self.hub.config.spawner.consecutive_failure_limit
        if limit and self.failures_in_a_row >= limit:
            log.critical("%d spawns failed in a row (consecutive_failure_limit = %d): shutting "
                         "the hub down; check the spawner's configuration and the log above",
                         self.failures_in_a_row, limit)
            self.hub.request_shutdown()

    async def continue_spawn(self, server: Server, spawner: Spawner) -> None:
        """Continue the start a previous hub began (see ``kernel.resume``); it ends as a
        spawn does: ready and routed, or cleaned up."""
        spawner.load_user_options(server.user_options or {})
        server.pending = "spawn"
        server.progress.reset()
        server.progress.add({"progress": 0, "message": "Continuing the start the previous "
                                                       "hub began"})
        server.task = asyncio.create_task(self._spawn(server, spawner),
                                          name=f"spawn {server.log_name}")
        await server.task

    async def save_state(self, server: Server) -> None:
        """Save the state of ``server``'s spawner now, while it is still starting.

        See ``Spawner.save_state``: a hub that restarts finds the server by it.
        """
        spawner = server.spawner
        if spawner is None or server.pending != "spawn":
            return
        server.state = spawner.get_state()
        await self.hub.users.save_server(server)

    async def _start(self, spawner: Spawner, server: Server) -> str:
        """Await spawner.start() within start_timeout, relaying its progress; the URL."""

        async def relay_progress() -> None:
            async for event in spawner.progress():
                server.progress.add({k: v for k, v in event.items() if k != "ready"})

        relay = asyncio.create_task(relay_progress())
        try:
            async with asyncio.timeout(spawner.start_timeout):
                where = await spawner.start()
        except TimeoutError:
            raise StartTimeout(500, f"the server did not start within "
                                    f"{spawner.start_timeout:g} seconds (start_timeout)") from None
        finally:
            relay.cancel()
        return server_url(where, spawner.scheme)

    # -- stopping ---------------------------------------------------------------

    def request_stop(self, server: Server, *, now: bool = False,
                     remove: bool = False) -> asyncio.Task[None]:
        """Begin stopping ``server`` (or cancel its spawn); the task ends when it stopped.

        ``remove``: then delete the (named) server's record for good.
        """
        if server.pending == "stop" and server.task is not None:
            return server.task
        spawning = server.task if server.pending == "spawn" else None
        server.task = asyncio.create_task(self._stop_then_remove(server, now, spawning, remove),
                                          name=f"stop {server.log_name}")
        return server.task

    async def _stop_then_remove(self, server: Server, now: bool,
                                spawning: asyncio.Task[None] | None, remove: bool) -> None:
        await self._stop(server, now=now, spawning=spawning)
        if remove:
            await self.remove(server)

    async def remove(self, server: Server) -> None:
        """Delete a stopped named server for good (plugins forget what they keep of it)."""
        await self.hub.users.delete_server(server)
        await self.hub.hooks.resource_deleted(server=server)
        self.hub.permissions.changed()

    async def _stop(self, server: Server, *, now: bool,
                    spawning: asyncio.Task[None] | None) -> None:
        if spawning is not None:
            # The spawn's own clean-up stops whatever it started.
            server.pending = "stop"
            spawning.cancel()
            await asyncio.gather(spawning, return_exceptions=True)
            return
        if not server.ready:
            return
        began = time.monotonic()
        server.pending = "stop"
        if server.poller is not None:
            server.poller.cancel()
        spawner = server.spawner
        status = "success"
        try:
            await self.hub.routes.remove_server(server)
            if spawner is not None:
                await spawner.stop(now=now)
        except Exception:
            status = "failure"
            log.exception("Stopping %s failed; forgetting it anyway", server.log_name)
        finally:
            await asyncio.shield(self.cleanup(server, spawner, stop=False))
        log.info("Server %s stopped", server.log_name)
        self.hub.emit("stop", user=server.user.name, server=server.name)
        self.hub.measure("server_stop_seconds", "timing", time.monotonic() - began,
                         status=status)

    async def cleanup(self, server: Server, spawner: Spawner | None, *, stop: bool) -> None:
        """Leave nothing behind: process (``stop``), route, token, state, pending flag."""
        hub = self.hub
        if stop and spawner is not None:
            try:
                await spawner.stop(now=True)
            except Exception:
                log.exception("Stopping %s after a failed spawn failed", server.log_name)
        await hub.routes.remove_server(server)
        if spawner is not None:
            spawner.clear_state()
            await hub.hooks.post_spawn_stop(user=server.user, spawner=spawner)
        server.url = None
        server.state = {}
        server.started = None
        server.spawner = None
        server.last_activity = utcnow()  # stopping is activity too, as in JupyterHub
        try:
            await hub.tokens.revoke_where(server_id=server.id)
            await hub.users.save_server(server)
            await hub.users.record_activity(server.user, server.last_activity, [], 0)
        finally:
            server.pending = None
            self.active.discard(server)

    # -- watching running servers ----------------------------------------------

    def watch(self, server: Server) -> None:
        """Poll a running server every ``poll_interval``; clean up when it has exited."""
        spawner = server.spawner
        if spawner is None or spawner.poll_interval <= 0:
            return
        server.poller = asyncio.create_task(self._poll(server, spawner),
                                            name=f"poll {server.log_name}")

    def poll_now(self, server: Server) -> None:
        """Poll ``server`` now instead of at its next ``poll_interval``.

        For a spawner that learns from elsewhere that its server is gone (an
        event stream, a queue listing shared by all servers): the hub then
        notices at once. Does nothing for a server that is not running.
        """
        server.poll_requested.set()

    async def _poll(self, server: Server, spawner: Spawner) -> None:
        while True:
            jitter = 1 + random.uniform(-spawner.poll_jitter, spawner.poll_jitter)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.poll_requested.wait(),
                                       spawner.poll_interval * jitter)
            server.poll_requested.clear()
            if server.spawner is not spawner or not server.ready:
                return
            status = await self.timed_poll(spawner)
            if status is not None:
                break
        log.warning("Server %s exited with status %s; removing its route", server.log_name,
                    status)
        self.hub.emit("server.died", user=server.user.name, server=server.name, status=status)
        server.pending = "stop"
        server.poller = None
        await self.cleanup(server, spawner, stop=False)

    async def timed_poll(self, spawner: Spawner) -> int | None:
        """``spawner.poll()``, measured."""
        began = time.monotonic()
        status = await spawner.poll()
        self.hub.measure("server_poll_duration_seconds", "timing", time.monotonic() - began,
                         status="running" if status is None else "stopped")
        return status

    async def stop_all(self) -> None:
        """Stop every active server (shutdown with cleanup_servers)."""
        servers = list(self.active)
        if servers:
            log.info("Stopping %d server(s)", len(servers))
            await asyncio.gather(*(self.request_stop(s) for s in servers),
                                 return_exceptions=True)

    def forget_all(self) -> None:
        """Stop watching servers without stopping them (shutdown without cleanup_servers)."""
        self._forgetting = True
        for server in self.active:
            for task in (server.poller, server.task):
                if task is not None and not task.done():
                    task.cancel()


def describe(error: BaseException) -> str:
    """What to tell the user; the log has the details (plugin, traceback)."""
    if isinstance(error, PluginError):
        error = error.error
    if isinstance(error, HubError):
        return error.message
    return str(error) or type(error).__name__


def _failure_reason(error: BaseException) -> str:
    """The `reason` label of JupyterHub's spawn-duration metric."""
    if isinstance(error, NotReady):
        return "exited" if error.exited else "timeout"
    if isinstance(error, StartTimeout):
        return "timeout"
    return "error"

