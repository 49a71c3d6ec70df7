"""Roles: named sets of scopes, held by users, groups and services.

The four built-in roles are JupyterHub's: ``user`` (every user: ``self``),
``admin`` (users with the admin flag), ``server`` (a server's own token) and
``token`` (``inherit``: a new token's default). Further roles come from
``[role:NAME]`` sections, which are written to the database at every
start-up, and from role assignments made through the REST API.

As in JupyterHub, a ``[role:NAME]`` section may redefine the scopes of
``user``, ``server`` and ``token`` (``[role:user] scopes = self,
access:services`` lets every user log in to services) and name further
holders of ``admin``, whose scopes are fixed. Its ``users`` list, with ``[auth]
admin_users``, is then the whole list of admins, as JupyterHub's: an admin
listed in neither loses the admin flag at start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

from kernel.auth import listed_users, normalized_name
from kernel.config.values import Config, Section
from kernel.db import models as orm
from kernel.plugin_scopes import DECLARED
from kernel.scopes import ScopeError, check, definition

log = logging.getLogger("kernelhub.roles")

ADMIN_SCOPES = (
    "admin-ui", "admin:users", "admin:servers", "admin:services", "tokens", "admin:groups",
    "list:services", "read:services", "read:hub", "proxy", "shutdown", "access:services",
    "access:servers", "read:roles", "read:metrics",
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


def builtin_scopes(role: str) -> list[str]:
    """A built-in role's scopes, with those plugins add to it (``declare_scopes``)."""
    return [*BUILTIN_ROLES[role][1], *DECLARED.roles.get(role, ())]


def admin_scopes(admin_access: bool) -> list[str]:
    """The admin role's scopes. Without [hub] admin_access, admins manage servers but
    cannot open them, nor hold anything that would let them open them (``shares``):
    such a scope gives way to its subscopes that do not."""
    scopes = builtin_scopes("admin")
    if admin_access:
        return scopes
    return [kept for scope in scopes for kept in _without_server_access(scope)]


def _without_server_access(scope: str) -> list[str]:
    if scope == "access:servers":
        return []
    subscopes = (definition(scope) or ("", ()))[1]
    limited = [kept for sub in subscopes for kept in _without_server_access(sub)]
    return [scope] if limited == list(subscopes) else limited


def load_roles(*, admin_access: bool) -> RoleAssignments:
    """Read roles and assignments (call on a database thread)."""
    loaded = RoleAssignments()
    for name, (description, _) in BUILTIN_ROLES.items():
        loaded.roles[name] = Role(name, builtin_scopes(name), description)
    for row in orm.Role.select():
        loaded.roles[row.name] = Role(row.name, list(row.scopes), row.description,
                                      row.from_config)
    loaded.roles["admin"].scopes = admin_scopes(admin_access)
    for table, holders, column in ((orm.UserRole, loaded.users, "user_id"),
                                   (orm.GroupRole, loaded.groups, "group_id"),
                                   (orm.ServiceRole, loaded.services, "service_id")):
        query = table.select(getattr(table, column.removesuffix("_id")), orm.Role.name).join(
            orm.Role).tuples()
        # peewee's stubs say .tuples() still yields models; it yields these pairs.
        for holder_id, role_name in cast("Iterable[tuple[int, str]]", query):
            holders.setdefault(holder_id, set()).add(role_name)
    return loaded


def apply_config_roles(config: Config) -> None:
    """Write the [role:NAME] sections to the database (call on a database thread,
    after the services are defined).

    A role from hub.ini is what hub.ini says it is: its scopes and members are
    replaced at every start-up, and a role hub.ini no longer has is deleted
    (a redefined built-in role goes back to its default scopes).
    """
    sections = config.collection("role")
    for name, section in sections.items():
        where = f"role:{name}"
        try:
            scopes = check(section.scopes)
        except ScopeError as e:
            raise config.error(str(e), where, "scopes") from None
        if not section.is_set("scopes") and name in BUILTIN_ROLES:
            scopes = builtin_scopes(name)
        if name == "admin" and set(scopes) != set(builtin_scopes("admin")):
            raise config.error("the admin role's scopes cannot be changed; define a role of "
                               "your own with the scopes you want", where, "scopes")
        if name == "user" and "self" not in scopes:
            log.warning("[role:user] scopes leave out `self`: users cannot manage their own "
                        "servers and tokens")
        role, _ = orm.Role.get_or_create(name=name, defaults={"scopes": scopes})
        role.scopes, role.description, role.from_config = scopes, section.description, True
        role.save()
        _set_holders(config, role, section)
    stale = orm.Role.delete().where(orm.Role.from_config & orm.Role.name.not_in(list(sections)))
    if stale.execute():
        log.info("Deleted roles no longer in hub.ini")


def _set_holders(config: Config, role: orm.Role, section: Section) -> None:
    """Make the role's holders exactly those the section lists. The admin role is held
    through the users' admin flag; its users are made admins (as admin_users are), and
    nobody else is one."""
    # User names as a login normalises them, as JupyterHub reads a role's users.
    names = list(dict.fromkeys(normalized_name(config, name) for name in section.users))
    if role.name == "admin":
        for name in names:
            orm.User.get_or_create(name=name)
        orm.User.update(admin=True).where(orm.User.name.in_(names)).execute()
        if section.is_set("users"):
            _only_admins(names + listed_users(config, "admin_users"))
    else:
        _replace(orm.UserRole, "user", role, [orm.User.get_or_create(name=n)[0]
                                             for n in names])
    _replace(orm.GroupRole, "group", role, [orm.Group.get_or_create(name=n)[0]
                                           for n in section.groups])
    services = []
    for name in section.services:
        service = orm.Service.get_or_none(orm.Service.name == name)
        if service is None:
            raise config.error(f"there is no service {name!r}; define it in a "
                               f"[service:{name}] section", f"role:{role.name}", "services")
        services.append(service)
    _replace(orm.ServiceRole, "service", role, services)


def _only_admins(names: list[str]) -> None:
    """As JupyterHub: a ``[role:admin] users`` list, with ``[auth] admin_users``, is the
    whole list of admins; anyone else with the admin flag loses it. (Without that list,
    admins made through the REST API stay admins.)"""
    others = orm.User.select(orm.User.id, orm.User.name).where(
        orm.User.admin & orm.User.name.not_in(names))
    for row in others:
        log.warning("Removing admin rights from %s: not in [role:admin] users or [auth] "
                    "admin_users", row.name)
        orm.User.update(admin=False).where(orm.User.id == row.id).execute()


def _replace(table: type[orm.UserRole | orm.GroupRole | orm.ServiceRole], column: str,
             role: orm.Role, holders: Sequence[orm.BaseModel]) -> None:
    table.delete().where(table.role == role).execute()
    for holder in holders:
        table.create(**{column: holder, "role": role})
