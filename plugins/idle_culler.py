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

Unlike the culler service (and JupyterHub, which compare wall-clock times),
idle time and age are counted on the monotonic clock once the culler has
seen a timestamp (``Elapsed``), so a jump of the wall clock culls nobody: a
step forward by an hour does not make every server an hour idler.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from kernel import hookimpl
from kernel.accounts import delete_user
from kernel.clock import utcnow
from kernel.config import Option, OptionRegistry
from kernel.config.types import Boolean, Integer
from kernel.hub import Hub
from kernel.stash import StashKey

if TYPE_CHECKING:
    from kernel.users import Server, User

log = logging.getLogger("kernelhub.idle-culler")

#: How far the wall clock may drift from the monotonic clock between two looks before the
#: culler calls it a jump in the log (NTP slews far less than this).
JUMP_TOLERANCE = timedelta(seconds=5)

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


@dataclass
class Seen:
    """A wall-clock timestamp, and the monotonic time it stands for."""

    stamp: datetime
    at: float


class Elapsed:
    """Time since wall-clock timestamps, counted on the monotonic clock once seen.

    A timestamp's age is read from the wall clock when the culler first sees
    it (the past is only known by wall time), and from then on grows with the
    monotonic clock, which no jump moves. A timestamp newer than the one seen
    at the previous look means activity since that look, whatever the wall
    clock says (a server's report after the hub's clock jumped forward).
    """

    def __init__(self) -> None:
        self.seen: dict[tuple[int, str], Seen] = {}
        self.previous: tuple[datetime, float] | None = None

    def look(self) -> tuple[datetime, float]:
        """Begin a look at the servers: (wall, monotonic) now; logs a jump since the last."""
        now = (utcnow(), time.monotonic())
        if self.previous is not None:
            wall, mono = self.previous
            jump = (now[0] - wall) - timedelta(seconds=now[1] - mono)
            if abs(jump) > JUMP_TOLERANCE:
                log.warning("The hub's clock jumped by %+d s since the last look at idle servers; "
                            "idle times are counted on the monotonic clock, so the jump culls "
                            "nobody", round(jump.total_seconds()))
        return now

    def since(self, key: tuple[int, str], stamp: datetime, now: tuple[datetime, float]
              ) -> timedelta:
        """How long ago ``stamp`` (the timestamp called ``key``) was."""
        wall, mono = now
        seen = self.seen.get(key)
        if seen is None or seen.stamp != stamp:
            at = mono - max(0.0, (wall - stamp).total_seconds())
            if seen is not None and stamp > seen.stamp and self.previous is not None:
                at = max(at, self.previous[1])
            seen = self.seen[key] = Seen(stamp, at)
        return timedelta(seconds=mono - seen.at)

    def end_look(self, now: tuple[datetime, float], keys: set[tuple[int, str]]) -> None:
        """Forget the timestamps of servers no longer running."""
        self.previous = now
        for key in self.seen.keys() - keys:
            del self.seen[key]


elapsed_key = StashKey[Elapsed]()


async def cull_idle_servers(hub: Hub) -> None:
    """Stop every ready server that is idle or too old; with cull_users, then its user."""
    config = hub.config
    timeout, max_age = timedelta(seconds=config[TIMEOUT]), config[MAX_AGE]
    elapsed = hub.stash.setdefault(elapsed_key, Elapsed())
    now = elapsed.look()
    looked_at: set[tuple[int, str]] = set()
    stops: dict[User, list[asyncio.Task[None]]] = {}
    for server in list(hub.lifecycle.active):
        if not server.ready or server.started is None:
            continue
        keys = (id(server), "activity"), (id(server), "started")
        looked_at.update(keys)
        inactive = elapsed.since(keys[0], server.last_activity or server.started, now)
        age = elapsed.since(keys[1], server.started, now)
        if inactive >= timeout:
            reason = "inactive"
        elif max_age and age >= timedelta(seconds=max_age):
            reason = "max_age"
        else:
            continue
        stops.setdefault(server.user, []).append(cull(hub, server, reason, inactive, age))
    elapsed.end_look(now, looked_at)
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
