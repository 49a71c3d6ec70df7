"""The `idle-culler` plugin: stop servers nobody has used for a while, inside the hub.

It does what the ``jupyterhub-idle-culler`` service does, with its options
in ``[idle-culler]``, but reads the hub's own activity data instead of
asking the REST API: every ``cull_every`` seconds it looks at the servers
that are running (``hub.lifecycle.active``, never every user) and stops each
one whose ``last_activity`` (or start, when it never reported any) is older
than ``timeout`` seconds, or that was started more than ``max_age`` seconds
ago. Servers that are starting or stopping are left alone. Each cull is
logged and reported to the ``log`` hook as a ``server.culled`` event
(``user``, ``server``, ``reason``: ``inactive`` or ``max_age``,
``inactive_seconds``, ``age_seconds``).

With ``cull_users``, a user whose last server it culled and who has been
inactive for ``timeout`` seconds is deleted as well (admins only with
``cull_admin_users``). Users without a running server are never visited.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from kernel import hookimpl
from kernel.accounts import delete_user
from kernel.clock import utcnow
from kernel.config import Option, OptionRegistry
from kernel.config.types import Boolean, Integer
from kernel.hub import Hub

if TYPE_CHECKING:
    from kernel.users import Server, User

log = logging.getLogger("kernelhub.idle-culler")

SECTION = "idle-culler"
TIMEOUT = Option(SECTION, "timeout", Integer(minimum=1), 3600,
                 "Stop a server after this many seconds without activity.")
CULL_EVERY = Option(SECTION, "cull_every", Integer(minimum=0), 0,
                    "Seconds between two looks at the running servers; 0: timeout / 2.")
MAX_AGE = Option(SECTION, "max_age", Integer(minimum=0), 0,
                 "Stop a server this many seconds after it started, even if it is in use; "
                 "0: never.")
CULL_USERS = Option(SECTION, "cull_users", Boolean(), False,
                    "Also delete a user whose last server was culled and who has been "
                    "inactive for timeout seconds.")
REMOVE_NAMED_SERVERS = Option(SECTION, "remove_named_servers", Boolean(), False,
                              "Delete culled named servers instead of only stopping them.")
CULL_ADMIN_USERS = Option(SECTION, "cull_admin_users", Boolean(), True,
                          "With cull_users, delete inactive admins too.")


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.declare(TIMEOUT, CULL_EVERY, MAX_AGE, CULL_USERS, REMOVE_NAMED_SERVERS,
                    CULL_ADMIN_USERS)


@hookimpl
def hub_startup(hub: Hub) -> None:
    timeout = hub.config[TIMEOUT]
    every = hub.config[CULL_EVERY] or timeout / 2
    hub.background(cull_periodically(hub, every), name="idle culler")
    log.info("Culling servers idle for %d s, every %g s", timeout, every)


async def cull_periodically(hub: Hub, interval: float) -> None:
    """Cull idle servers every ``interval`` seconds, until cancelled."""
    while True:
        await asyncio.sleep(interval)
        try:
            await cull_idle_servers(hub)
        except Exception:
            log.exception("Culling idle servers failed; trying again in %g s", interval)


async def cull_idle_servers(hub: Hub) -> None:
    """Stop every ready server that is idle or too old; with cull_users, then its user."""
    config = hub.config
    timeout, max_age = timedelta(seconds=config[TIMEOUT]), config[MAX_AGE]
    now = utcnow()
    stops: dict[User, list[asyncio.Task[None]]] = {}
    for server in list(hub.lifecycle.active):
        if not server.ready or server.started is None:
            continue
        inactive = now - (server.last_activity or server.started)
        age = now - server.started
        if inactive >= timeout:
            reason = "inactive"
        elif max_age and age >= timedelta(seconds=max_age):
            reason = "max_age"
        else:
            continue
        stops.setdefault(server.user, []).append(cull(hub, server, reason, inactive, age))
    if config[CULL_USERS]:
        # Judged by the activity seen before the culls: stopping a server counts as
        # activity, which would save every user (the culler service reads it first too).
        last_seen = {user: user.last_activity for user in stops}
        for user, tasks in stops.items():
            await asyncio.gather(*tasks, return_exceptions=True)
            await _cull_user(hub, user, last_seen[user], timeout)


def cull(hub: Hub, server: Server, reason: str, inactive: timedelta,
         age: timedelta) -> asyncio.Task[None]:
    """Stop one server (and delete it if it is named and remove_named_servers)."""
    config = hub.config
    remove = bool(server.name) and config[REMOVE_NAMED_SERVERS]
    why = (f"idle for {_rounded(inactive)} (timeout {config[TIMEOUT]} s)" if reason == "inactive"
           else f"running for {_rounded(age)} (max_age {config[MAX_AGE]} s)")
    log.info("Culling server %s: %s", server.log_name, why)
    hub.emit("server.culled", user=server.user.name, server=server.name, reason=reason,
             inactive_seconds=round(inactive.total_seconds()),
             age_seconds=round(age.total_seconds()))
    return hub.lifecycle.request_stop(server, remove=remove)


async def _cull_user(hub: Hub, user: User, last_seen: datetime | None,
                     timeout: timedelta) -> None:
    if hub.users.get(user.name) is not user or any(s.active for s in user.servers.values()):
        return  # deleted meanwhile, or a server is still running (or slow to stop)
    if user.admin and not hub.config[CULL_ADMIN_USERS]:
        return
    if last_seen is not None and utcnow() - last_seen < timeout:
        return
    log.info("Culling user %s (inactive since %s)", user.name, last_seen)
    await delete_user(hub, user)


def _rounded(span: timedelta) -> timedelta:
    return timedelta(seconds=round(span.total_seconds()))
