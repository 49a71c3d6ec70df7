"""Roles: named sets of scopes, held by users, groups and services.

The four built-in roles are JupyterHub's: ``user`` (every user: ``self``),
``admin`` (users with the admin flag), ``server`` (a server's own token) and
``token`` (``inherit``: a new token's default). Further roles come from
``[role:NAME]`` sections, which are written to the database at every
start-up, and from role assignments made through the REST API.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from kernel.config.values import Config
from kernel.db import models as orm
from kernel.scopes import ScopeError, check

log = logging.getLogger("kernelhub.roles")

ADMIN_SCOPES = (
    "admin-ui", "admin:users", "admin:servers", "admin:services", "tokens", "admin:groups",
    "list:services", "read:services", "read:hub", "proxy", "shutdown", "access:services",
    "access:servers", "read:roles", "read:metrics", "shares",
)

BUILTIN_ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "user": ("Every user: their own resources.", ("self",)),
    "admin": ("Administrators: everything.", ADMIN_SCOPES),
    "server": ("A server's own token: report activity, let its users in.",
               ("users:activity!user", "access:servers!server")),
    "token": ("A token with its owner's permissions.", ("inherit",)),
}


@dataclass
class Role:
    name: str
    scopes: list[str]
    description: str = ""
    from_config: bool = False


@dataclass
class RoleAssignments:
    """Every role, and who holds which (by database id), kept in memory."""

    roles: dict[str, Role] = field(default_factory=dict)
    users: dict[int, set[str]] = field(default_factory=dict)
    groups: dict[int, set[str]] = field(default_factory=dict)
    services: dict[int, set[str]] = field(default_factory=dict)

    def scopes_of(self, role_names: set[str]) -> list[str]:
        return [scope for name in role_names if name in self.roles
                for scope in self.roles[name].scopes]


def admin_scopes(admin_access: bool) -> list[str]:
    """The admin role's scopes. Without [hub] admin_access, admins manage servers but
    cannot open them, nor share them (which would let them open them)."""
    if admin_access:
        return list(ADMIN_SCOPES)
    limited = [s for s in ADMIN_SCOPES if s not in ("access:servers", "shares")]
    return [*limited, "read:shares", "users:shares", "groups:shares"]


def load_roles(*, admin_access: bool) -> RoleAssignments:
    """Read roles and assignments (call on a database thread)."""
    loaded = RoleAssignments()
    for name, (description, scopes) in BUILTIN_ROLES.items():
        loaded.roles[name] = Role(name, list(scopes), description)
    loaded.roles["admin"].scopes = admin_scopes(admin_access)
    for row in orm.Role.select():
        loaded.roles[row.name] = Role(row.name, list(row.scopes), row.description,
                                      row.from_config)
    for table, holders, column in ((orm.UserRole, loaded.users, "user_id"),
                                   (orm.GroupRole, loaded.groups, "group_id"),
                                   (orm.ServiceRole, loaded.services, "service_id")):
        query = table.select(getattr(table, column.removesuffix("_id")), orm.Role.name).join(
            orm.Role).tuples()
        for holder_id, role_name in query:
            holders.setdefault(holder_id, set()).add(role_name)
    return loaded


def apply_config_roles(config: Config) -> None:
    """Write the [role:NAME] sections to the database (call on a database thread).

    A role from hub.ini is what hub.ini says it is: its scopes and members are
    replaced at every start-up, and a role hub.ini no longer has is deleted.
    """
    sections = config.collection("role")
    for name, section in sections.items():
        if name in BUILTIN_ROLES:
            raise config.error(f"{name!r} is a built-in role; choose another name",
                               f"role:{name}")
        try:
            scopes = check(section.scopes)
        except ScopeError as e:
            raise config.error(str(e), f"role:{name}", "scopes") from None
        role, _ = orm.Role.get_or_create(name=name, defaults={"scopes": scopes})
        role.scopes, role.description, role.from_config = scopes, section.description, True
        role.save()
        for table, column, model, members in (
                (orm.UserRole, "user", orm.User, section.users),
                (orm.GroupRole, "group", orm.Group, section.groups)):
            table.delete().where(table.role == role).execute()
            for member in members:
                holder, _ = model.get_or_create(name=member)
                table.create(**{column: holder, "role": role})
    stale = orm.Role.delete().where(orm.Role.from_config & orm.Role.name.not_in(list(sections)))
    if stale.execute():
        log.info("Deleted roles no longer in hub.ini")
