"""Taking over the servers a previous hub left: adopt those that run, continue those that
were starting, clean up those that are gone.

A server the previous hub recorded (its URL, or a spawner state saved while it
started) is checked with the spawner's ``poll()`` after ``load_state()``:

- running, with a URL: it answers HTTP, gets its route, and is watched again;
- running, without a URL: its start was under way (the spawner saved its state
  with ``save_state``); that start is continued;
- gone: its route, token and state are cleaned up.

A server that cannot be checked (the spawner fails) is stopped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from kernel.lifecycle import describe
from kernel.readiness import wait_for_http

if TYPE_CHECKING:
    from kernel.lifecycle import ServerLifecycle
    from kernel.spawner import Spawner
    from kernel.users import Server

log = logging.getLogger("kernelhub.servers")


async def resume_all(lifecycle: ServerLifecycle) -> None:
    """Find the servers a previous hub left running, check them, and take them over."""
    hub = lifecycle.hub
    recorded = [s for u in hub.users for s in u.servers.values() if s.url is not None or s.state]
    if not recorded:
        return
    log.info("Checking %d server(s) left running by the previous hub", len(recorded))
    for server in recorded:
        server.pending = "check"
        lifecycle.active.add(server)
    began = time.monotonic()
    tasks = [asyncio.create_task(_resume(lifecycle, s), name=f"resume {s.log_name}")
             for s in recorded]
    # Measured when every check is done, even those that outlast init_spawners_timeout.
    everything = lifecycle.resuming = asyncio.gather(*tasks, return_exceptions=True)
    everything.add_done_callback(lambda _: hub.measure(
        "init_spawners_duration_seconds", "timing", time.monotonic() - began))
    timeout = hub.config.hub.init_spawners_timeout
    _, pending = await asyncio.wait(tasks, timeout=None if timeout < 0 else timeout)
    if pending:
        log.warning("%d server(s) are still being checked after %s seconds "
                    "(init_spawners_timeout); the hub starts and checks them in the "
                    "background", len(pending), timeout)


async def _resume(lifecycle: ServerLifecycle, server: Server) -> None:
    hub = lifecycle.hub
    spawner: Spawner | None = None
    try:
        spawner = server.spawner = hub.new_spawner(server)
        spawner.load_state(server.state)
        status = await lifecycle.timed_poll(spawner)
        if status is None and not server.url:
            log.info("Server %s was starting when the previous hub stopped; continuing its "
                     "start", server.log_name)
            await lifecycle.continue_spawn(server, spawner)
            return
        if status is None:
            prefix = server.prefix(hub.urls.base_url)
            assert hub.http is not None  # servers are found again once the hub started
            await wait_for_http(hub.http, f"{server.url}{prefix}api", spawner.http_timeout,
                                exit_status=spawner.poll)
            await hub.routes.add_server(server)
            server.pending = None
            log.info("Server %s is still running at %s", server.log_name, server.url)
            lifecycle.watch(server)
            return
        log.info("Server %s is gone (status %s); cleaning up", server.log_name, status)
        await lifecycle.cleanup(server, spawner, stop=False)
    except Exception as e:
        log.warning("Server %s could not be resumed (%s); stopping it", server.log_name,
                    describe(e))
        await lifecycle.cleanup(server, spawner, stop=True)
