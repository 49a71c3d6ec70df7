"""Writing the records of another hub's database into kernelhub's tables (``kernel import-db``).

The reader (the ``import-db`` plugin) turns a JupyterHub database into the
plain records below; ``restore`` writes them in one transaction, on a
database thread, and says per kind what it wrote and what it left out and
why. Plugins may not touch the kernel's tables, so this module is the one
door for an import: a record names its owner (a user, a group, a service)
by name, never by another database's ids.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import peewee as pw

from kernel.clock import utcnow
from kernel.db import models as orm
from kernel.roles import BUILTIN_ROLES
from kernel.security.tokens import jupyterhub_hash

#: The kinds of records, as the summary names them.
USERS, GROUPS, SERVICES, ROLES = "users", "groups", "services (made through the API)", "roles"
TOKENS, SERVERS = "API tokens", "servers (stopped)"


@dataclass
class ImportedUser:
    name: str
    admin: bool
    created: datetime | None
    last_activity: datetime | None
    #: Copied only when kernelhub's JUPYTERHUB_CRYPT_KEY can decrypt it (the reader checks).
    encrypted_auth_state: bytes | None = None


@dataclass
class ImportedGroup:
    name: str
    properties: dict[str, Any]
    members: list[str]


@dataclass
class ImportedService:
    """A service made through JupyterHub's REST API (config services come from hub.ini)."""

    name: str
    admin: bool
    url: str | None
    display: bool
    info: dict[str, Any]
    oauth_client_allowed_scopes: list[str]


@dataclass
class ImportedRole:
    name: str
    description: str
    scopes: list[str]
    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)


@dataclass
class ImportedToken:
    """An API token of a user or a service, as JupyterHub hashed it."""

    prefix: str
    jupyterhub_hashed: str
    user: str | None
    service: str | None
    scopes: list[str]
    note: str
    created: datetime | None
    expires_at: datetime | None
    last_activity: datetime | None


@dataclass
class ImportedServer:
    """A user's server, stopped: its name and what its user chose, not the spawner's state."""

    user: str
    name: str
    display_name: str
    user_options: dict[str, Any] | None
    last_activity: datetime | None


@dataclass
class Snapshot:
    """What the reader found; ``left_out`` counts what it did not take, by (kind, reason)."""

    left_out: Counter[tuple[str, str]] = field(default_factory=Counter)
    users: list[ImportedUser] = field(default_factory=list)
    groups: list[ImportedGroup] = field(default_factory=list)
    services: list[ImportedService] = field(default_factory=list)
    roles: list[ImportedRole] = field(default_factory=list)
    tokens: list[ImportedToken] = field(default_factory=list)
    servers: list[ImportedServer] = field(default_factory=list)


@dataclass
class Tally:
    """What became of one kind of record: how many were written, and why others were not."""

    kind: str
    imported: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, kind: str, left_out: Counter[tuple[str, str]]) -> Tally:
        """A tally that starts with what the reader left out of ``kind``."""
        return cls(kind, skipped=Counter({reason: n for (of_kind, reason), n
                                          in left_out.items() if of_kind == kind}))

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1


def existing_records() -> dict[str, int]:
    """How many users, groups and user tokens the database holds (on a database thread);
    an import into a database with any of them must be asked for (``--merge``)."""
    tables = set(orm.User._meta.database.get_tables())
    if orm.SchemaVersion._meta.table_name not in tables:
        # Empty, or not kernelhub's: preparing the database says which.
        return {}
    counts = {
        "users": orm.User.select().count(),
        "groups": orm.Group.select().count(),
        "user tokens": orm.APIToken.select().where(orm.APIToken.user.is_null(False)).count(),
    }
    return {kind: n for kind, n in counts.items() if n}


def restore(snapshot: Snapshot, *, now: datetime | None = None) -> list[Tally]:
    """Write ``snapshot`` in one transaction (on a database thread); records already there
    (same name, same token hash) are kept as they are."""
    with orm.User._meta.database.atomic():
        return _Restorer(now or utcnow()).run(snapshot)


class _Restorer:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.users: dict[str, orm.User] = {u.name: u for u in orm.User.select()}
        self.groups: dict[str, orm.Group] = {g.name: g for g in orm.Group.select()}
        self.services: dict[str, orm.Service] = {s.name: s for s in orm.Service.select()}

    def run(self, snapshot: Snapshot) -> list[Tally]:
        def tally(kind: str) -> Tally:
            return Tally.of(kind, snapshot.left_out)

        return [
            self._users(snapshot.users, tally(USERS)),
            self._groups(snapshot.groups, tally(GROUPS)),
            self._services(snapshot.services, tally(SERVICES)),
            self._roles(snapshot.roles, tally(ROLES)),
            self._tokens(snapshot.tokens, tally(TOKENS)),
            self._servers(snapshot.servers, tally(SERVERS)),
        ]

    def _users(self, users: list[ImportedUser], tally: Tally) -> Tally:
        for user in users:
            if user.name in self.users:
                tally.skip("already in kernelhub")
                continue
            self.users[user.name] = orm.User.create(
                name=user.name, admin=user.admin, created=user.created or self.now,
                last_activity=user.last_activity,
                encrypted_auth_state=user.encrypted_auth_state)
            tally.imported += 1
        return tally

    def _groups(self, groups: list[ImportedGroup], tally: Tally) -> Tally:
        for group in groups:
            row = self.groups.get(group.name)
            if row is None:
                row = self.groups[group.name] = orm.Group.create(
                    name=group.name, properties=group.properties)
                tally.imported += 1
            else:
                tally.skip("already in kernelhub (members added)")
            for member in group.members:
                orm.UserGroup.insert(user=self.users[member], group=row).on_conflict_ignore(
                ).execute()
        return tally

    def _services(self, services: list[ImportedService], tally: Tally) -> Tally:
        for service in services:
            if service.name in self.services:
                tally.skip("already in kernelhub")
                continue
            self.services[service.name] = orm.Service.create(
                name=service.name, from_config=False, admin=service.admin, url=service.url,
                display=service.display, info=service.info,
                oauth_client_allowed_scopes=service.oauth_client_allowed_scopes)
            tally.imported += 1
        return tally

    def _roles(self, roles: list[ImportedRole], tally: Tally) -> Tally:
        for role in roles:
            if role.name in BUILTIN_ROLES:
                # Their scopes and holders are hub.ini's ([role:NAME], admin_users) and
                # the admin flags imported with users and services.
                tally.skip("built-in: set in hub.ini")
                continue
            row = orm.Role.get_or_none(orm.Role.name == role.name)
            if row is None:
                row = orm.Role.create(name=role.name, description=role.description,
                                      scopes=role.scopes)
                tally.imported += 1
            else:
                tally.skip("already in kernelhub (holders added)")
            holders: tuple[tuple[type[orm.BaseModel], str, list[str], dict[str, Any]], ...] = (
                (orm.UserRole, "user", role.users, self.users),
                (orm.GroupRole, "group", role.groups, self.groups),
                (orm.ServiceRole, "service", role.services, self.services))
            for table, column, names, rows in holders:
                for name in names:
                    if name in rows:
                        table.insert({column: rows[name], "role": row}).on_conflict_ignore(
                        ).execute()
        return tally

    def _tokens(self, tokens: list[ImportedToken], tally: Tally) -> Tally:
        for token in tokens:
            hashed = jupyterhub_hash(token.jupyterhub_hashed)
            owner: dict[str, pw.Model | None] = {
                "user": self.users.get(token.user) if token.user else None,
                "service": self.services.get(token.service) if token.service else None,
            }
            if token.expires_at is not None and token.expires_at <= self.now:
                tally.skip("expired")
            elif owner["user"] is None and owner["service"] is None:
                tally.skip("service not in hub.ini: add [service:NAME] and import with "
                           "--merge")
            elif orm.APIToken.select().where(orm.APIToken.hashed == hashed).exists():
                tally.skip("already in kernelhub")
            else:
                orm.APIToken.create(
                    prefix=token.prefix, hashed=hashed, scopes=token.scopes, note=token.note,
                    created=token.created or self.now, expires_at=token.expires_at,
                    last_activity=token.last_activity, **owner)
                tally.imported += 1
        return tally

    def _servers(self, servers: list[ImportedServer], tally: Tally) -> Tally:
        for server in servers:
            user = self.users[server.user]
            if orm.Server.select().where((orm.Server.user == user)
                                         & (orm.Server.name == server.name)).exists():
                tally.skip("already in kernelhub")
                continue
            orm.Server.create(user=user, name=server.name, display_name=server.display_name,
                              user_options=server.user_options,
                              last_activity=server.last_activity)
            tally.imported += 1
        return tally
