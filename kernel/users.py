"""Users and their servers as the running hub knows them: in memory, backed by the database.

The hub keeps every user and server in memory so that no request does work
that grows with the number of users; changes are written through to the
database on its thread pool. ``Server`` also carries the live state the
database does not: the spawner, what is pending, the spawn's progress.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from kernel.clock import utcnow
from kernel.db import models as orm
from kernel.progress import ProgressLog
from kernel.urls import HubURLs, escape_path_segment

if TYPE_CHECKING:
    from kernel.db.database import Database
    from kernel.spawner import Spawner


@dataclass(eq=False)
class Server:
    """One server of a user: the default one (name "") or a named one."""

    user: User
    name: str
    id: int
    display_name: str = ""
    #: Where the running server answers, e.g. http://127.0.0.1:51234; None when stopped.
    url: str | None = None
    #: The spawner's saved state (get_state), e.g. {"pid": 1234}.
    state: dict[str, Any] = field(default_factory=dict)
    #: The options of the last start given some (kept for the next); None if never given.
    user_options: dict[str, Any] | None = None
    started: datetime | None = None
    last_activity: datetime | None = None
    #: What is in flight: "spawn", "stop" or "check" (at hub start-up); None when settled.
    pending: str | None = None
    spawner: Spawner | None = None
    progress: ProgressLog = field(default_factory=ProgressLog)
    #: The background task of a spawn or stop in flight.
    task: asyncio.Task[Any] | None = None
    #: The task that polls the running server.
    poller: asyncio.Task[Any] | None = None
    #: Set to make the poller poll now (``ServerLifecycle.poll_now``).
    poll_requested: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def ready(self) -> bool:
        """Running, answering, and routed."""
        return self.url is not None and self.pending is None

    @property
    def active(self) -> bool:
        """Not fully stopped: ready, or something pending."""
        return self.ready or self.pending is not None

    @property
    def full_name(self) -> str:
        """``alice/`` or ``alice/gpu``, as the REST API names servers."""
        return f"{self.user.name}/{self.name}"

    @property
    def log_name(self) -> str:
        """``alice`` or ``alice:gpu``, as JupyterHub names servers in messages."""
        return f"{self.user.name}:{self.name}" if self.name else self.user.name

    def prefix(self, base_url: str) -> str:
        """The public URL path of this server, e.g. /user/alice/ or /user/alice/gpu/."""
        path = f"{base_url}user/{escape_path_segment(self.user.name)}/"
        return path + (f"{escape_path_segment(self.name)}/" if self.name else "")

    def link(self, urls: HubURLs) -> str:
        """The URL people open: the prefix, or https://alice.hub.example.org/user/alice/
        with subdomains."""
        return urls.origin_of(self.user.name, "user") + self.prefix(urls.base_url)

    def routespec(self, urls: HubURLs) -> str:
        """The proxy's route: the prefix, or alice.hub.example.org/user/alice/ with
        subdomains (the proxy then routes on the Host header, then the path)."""
        return urls.domain_of(self.user.name, "user") + self.prefix(urls.base_url)


@dataclass(eq=False)
class User:
    id: int
    name: str
    admin: bool = False
    created: datetime = field(default_factory=utcnow)
    last_activity: datetime | None = None
    cookie_id: str = ""
    groups: set[str] = field(default_factory=set)
    #: What the authenticator reported about the user at the last login.
    user_info: dict[str, Any] = field(default_factory=dict)
    servers: dict[str, Server] = field(default_factory=dict)

    def server(self, name: str = "") -> Server | None:
        return self.servers.get(name)

    @property
    def running_servers(self) -> list[Server]:
        return [s for s in self.servers.values() if s.active]


class UserRegistry:
    """All users, by name, loaded once at start-up and kept in step with the database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._users: dict[str, User] = {}
        self._by_id: dict[int, User] = {}

    def __iter__(self) -> Iterator[User]:
        return iter(self._users.values())

    def __len__(self) -> int:
        return len(self._users)

    def __contains__(self, name: str) -> bool:
        return name in self._users

    def get(self, name: str) -> User | None:
        return self._users.get(name)

    def by_id(self, user_id: int) -> User | None:
        return self._by_id.get(user_id)

    def load(self) -> None:
        """Read every user, group membership and server row (call on a database thread)."""
        users: dict[int, User] = {}
        for row in orm.User.select().order_by(orm.User.id).iterator():
            users[row.id] = User(id=row.id, name=row.name, admin=row.admin, created=row.created,
                                 last_activity=row.last_activity, cookie_id=row.cookie_id,
                                 user_info=row.user_info or {})
        membership = (orm.UserGroup.select(orm.UserGroup.user, orm.Group.name)
                      .join(orm.Group).tuples().iterator())
        for user_id, group_name in membership:
            users[user_id].groups.add(group_name)
        for row in orm.Server.select().iterator():
            user = users[row.user_id]
            user.servers[row.name] = _server_from_row(user, row)
        self._users = {u.name: u for u in users.values()}
        self._by_id = users

    async def add(self, name: str, *, admin: bool = False) -> User:
        """Create a user (the caller has checked that the name is free and valid)."""
        row = await self.db.run(orm.User.create, name=name, admin=admin)
        user = User(id=row.id, name=row.name, admin=row.admin, created=row.created,
                    cookie_id=row.cookie_id)
        self._users[name] = user
        self._by_id[user.id] = user
        return user

    async def ensure(self, name: str, *, admin: bool | None = None) -> User:
        """The user called ``name``, created if new; ``admin`` set when not None."""
        user = self._users.get(name)
        if user is None:
            return await self.add(name, admin=bool(admin))
        if admin is not None and user.admin != admin:
            await self.set_admin(user, admin)
        return user

    async def set_admin(self, user: User, admin: bool) -> None:
        await self.db.run(orm.User.update(admin=admin).where(orm.User.id == user.id).execute)
        user.admin = admin

    async def delete(self, user: User) -> None:
        """Delete the user and, through the database's cascades, their servers and tokens."""
        await self.db.run(orm.User.delete().where(orm.User.id == user.id).execute)
        self._users.pop(user.name, None)
        self._by_id.pop(user.id, None)

    async def rename(self, user: User, new_name: str) -> None:
        """Give the user a new name (the caller has checked it is free and valid)."""
        await self.db.run(orm.User.update(name=new_name).where(orm.User.id == user.id).execute)
        old = user.name
        user.name = new_name
        # Rebuilt rather than re-inserted: iteration order is creation order.
        self._users = {(new_name if name == old else name): u for name, u in self._users.items()}

    async def delete_server(self, server: Server) -> None:
        """Forget a (stopped) named server for good (its shares go with it)."""
        await self.db.run(orm.Server.delete().where(orm.Server.id == server.id).execute)
        server.user.servers.pop(server.name, None)

    async def rename_server(self, server: Server, new_name: str) -> None:
        await self.db.run(orm.Server.update(name=new_name)
                          .where(orm.Server.id == server.id).execute)
        user = server.user
        del user.servers[server.name]
        server.name = new_name
        user.servers[new_name] = server

    async def save_auth_state(self, user: User, encrypted: bytes | None) -> None:
        await self.db.run(orm.User.update(encrypted_auth_state=encrypted)
                          .where(orm.User.id == user.id).execute)

    async def encrypted_auth_state(self, user: User) -> bytes | None:
        """Read on demand: auth state is not kept in memory."""
        return await self.db.run(lambda: orm.User.select(orm.User.encrypted_auth_state)
                                 .where(orm.User.id == user.id).scalar())

    async def set_user_info(self, user: User, info: dict[str, Any]) -> None:
        await self.db.run(orm.User.update(user_info=info).where(orm.User.id == user.id).execute)
        user.user_info = info

    async def save_activity(self, user: User) -> None:
        await self.db.run(orm.User.update(last_activity=user.last_activity)
                          .where(orm.User.id == user.id).execute)

    async def record_activity(self, user: User, latest: datetime | None,
                              servers: list[tuple[Server, datetime]],
                              resolution_seconds: float) -> None:
        """Keep the newest activity times, skipping writes that would move a stored time by
        less than ``resolution_seconds`` (activity_resolution)."""
        resolution = timedelta(seconds=resolution_seconds)
        for server, when in servers:
            if server.last_activity is None or when > server.last_activity + resolution:
                server.last_activity = when
                await self.save_server(server)
        if latest and (user.last_activity is None or latest > user.last_activity + resolution):
            user.last_activity = latest
            await self.save_activity(user)

    async def server(self, user: User, name: str = "") -> Server:
        """The user's server record ``name``, created (stopped) if it does not exist yet."""
        server = user.servers.get(name)
        if server is None:
            row = await self.db.run(orm.Server.create, user=user.id, name=name)
            server = user.servers.setdefault(name, _server_from_row(user, row))
        return server

    async def save_server(self, server: Server) -> None:
        """Write the server's url, state, options and times to the database."""
        fields = {
            orm.Server.url: server.url,
            orm.Server.state: server.state,
            orm.Server.user_options: server.user_options,
            orm.Server.started: server.started,
            orm.Server.last_activity: server.last_activity,
            orm.Server.display_name: server.display_name,
        }
        await self.db.run(orm.Server.update(fields).where(orm.Server.id == server.id).execute)


def _server_from_row(user: User, row: orm.Server) -> Server:
    return Server(user=user, name=row.name, id=row.id, display_name=row.display_name,
                  url=row.url, state=row.state or {}, user_options=row.user_options,
                  started=row.started, last_activity=row.last_activity)
