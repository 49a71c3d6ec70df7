"""Managing users: create, rename, delete, and change admin rights, groups and roles.

What the REST API and the admin page do to a user, with everything that must
follow: permission caches forgotten, a deleted user's servers stopped and
sessions ended, a renamed user's servers stopped first (their addresses
contain the name). Whoever changes a user's rights can give only scopes they
hold themselves: ``check_rights`` comes before ``set_rights``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kernel.auth import normalize_username, username_problem
from kernel.db import models as orm
from kernel.errors import HubError

if TYPE_CHECKING:
    from kernel.hub import Hub
    from kernel.scopes import Scopes
    from kernel.users import Server, User


def new_name(hub: Hub, name: object) -> str:
    """``name`` normalised as a login normalises it (``Bob`` is ``bob``), valid and unused;
    or 400, or 409 when it stands for someone who exists."""
    if not isinstance(name, str):
        raise HubError(400, "A user name must be a string")
    if name != name.strip():  # a login forgives a stray space; the API is told exactly
        raise HubError(400, f"Invalid user name {name!r}: it has surrounding spaces")
    name = normalize_username(hub, name)
    problem = username_problem(hub, name)
    if problem:
        shown = name if len(name) <= 40 else name[:40] + "..."
        raise HubError(400, f"Invalid user name {shown!r}: {problem}")
    if name in hub.users:
        raise HubError(409, f"User {name} already exists")
    return name


async def create_user(hub: Hub, name: str, *, admin: bool = False) -> User:
    """Create the user ``name`` (normalised and checked by ``new_name`` first)."""
    user = await hub.users.add(name, admin=admin)
    hub.permissions.changed()
    hub.emit("user.created", user=name, admin=admin)
    return user


async def set_admin(hub: Hub, user: User, admin: bool) -> None:
    if user.admin != admin:
        await hub.users.set_admin(user, admin)
        hub.permissions.changed()


async def rename_user(hub: Hub, user: User, name: str) -> None:
    """Rename the user to ``name``, normalised as a login normalises it (a name that
    stands for the user's own is no change)."""
    if normalize_username(hub, name) == user.name:
        return
    try:
        name = new_name(hub, name)
    except HubError as e:
        if e.status != 409:
            raise
        # 400, not 409, as JupyterHub answers a rename onto a taken name.
        raise HubError(400, f"{e.message}, username must be unique") from None
    if any(s.active for s in user.servers.values()):
        raise HubError(400, f"{user.name} has running servers; stop them before renaming")
    old = user.name
    await hub.users.rename(user, name)
    hub.groups.rename_user(old, name, user.groups)
    await _grants_follow_rename(hub, old, name)
    hub.emit("user.renamed", user=name, old=old)


async def rename_server(hub: Hub, server: Server, new_name: str) -> None:
    """Rename a stopped named server (the caller has checked the name is valid and free)."""
    old = server.full_name
    await hub.users.rename_server(server, new_name)
    await _grants_follow_rename(hub, old, server.full_name)


async def _grants_follow_rename(hub: Hub, old: str, new: str) -> None:
    """Tokens, and what plugins keep (shares, share codes), aimed at a renamed user or
    server keep aiming at it, and nothing aimed at it passes to whoever takes the old name
    next. (Roles come from hub.ini, which names their holders and filters: they follow
    the file.)"""
    await hub.tokens.follow_rename(old, new)
    await hub.hooks.resource_renamed(old=old, new=new)
    hub.permissions.changed()


async def delete_user(hub: Hub, user: User) -> None:
    """Stop the user's servers, end their sessions, then delete them and their tokens."""
    if any(s.pending == "stop" for s in user.servers.values()):
        raise HubError(400, f"{user.name}'s server is in the process of stopping; try again "
                            "shortly")
    stops = [hub.lifecycle.request_stop(s) for s in user.servers.values() if s.active]
    if stops:
        await asyncio.gather(*stops, return_exceptions=True)
    await hub.sessions.revoke_user(user.id)
    await hub.tokens.revoke_where(user_id=user.id)
    hub.groups.forget_user(user)
    await hub.users.delete(user)
    await hub.hooks.resource_deleted(user=user)
    hub.permissions.changed()
    hub.emit("user.deleted", user=user.name)


@dataclass
class Rights:
    """A change of what a user may do: each field None leaves that part as it is."""

    admin: bool | None = None
    roles: list[str] | None = None
    groups: list[str] | None = None


def check_rights(hub: Hub, grantor: Scopes, name: str, rights: Rights,
                 user: User | None = None) -> None:
    """400 for a role or group that does not exist; 403 unless ``grantor`` holds every
    scope the change would give the user ``name`` (``user``, or a user still to be made).
    Call it before changing anything, so that a refused change leaves nothing behind."""
    roles = hub.permissions.roles
    unknown = [n for n in rights.roles or [] if n not in roles.roles]
    if unknown:
        raise HubError(400, f"No such role: {', '.join(unknown)}")
    for_tokens = [n for n in rights.roles or [] if n in ("server", "token")]
    if for_tokens:
        raise HubError(400, f"The {for_tokens[0]} role is for tokens, not users")
    missing = [n for n in rights.groups or [] if hub.groups.get(n) is None]
    if missing:
        raise HubError(400, f"No such group: {', '.join(missing)}")
    held_roles = hub.permissions.role_names(user) if user is not None else {"user"}
    new_roles = [n for n in rights.roles or [] if n not in held_roles]
    held_groups = user.groups if user is not None else set()
    hub.permissions.check_grant(
        grantor, name,
        admin=(rights.admin is True or "admin" in new_roles) and "admin" not in held_roles,
        roles=[n for n in new_roles if n != "admin"],
        groups=[n for n in rights.groups or [] if n not in held_groups])


async def set_rights(hub: Hub, user: User, rights: Rights) -> None:
    """Apply a change that ``check_rights`` allowed."""
    if rights.admin is not None:
        await set_admin(hub, user, rights.admin)
    if rights.groups is not None:
        await _set_groups(hub, user, rights.groups)
    if rights.roles is not None:
        await _set_roles(hub, user, rights.roles)


async def _set_groups(hub: Hub, user: User, names: list[str]) -> None:
    """Make ``names`` (existing groups) exactly the user's groups."""
    for group in [hub.groups.get(n) for n in user.groups - set(names)]:
        if group is not None:
            await hub.groups.remove_members(group, [user])
    for name in names:
        group = hub.groups.get(name)
        if group is not None:
            await hub.groups.add_members(group, [user])
    hub.permissions.changed()


async def _set_roles(hub: Hub, user: User, names: list[str]) -> None:
    """Make ``names`` (assignable roles) exactly the roles assigned to the user; the
    built-in ``user`` role is implied, and ``admin`` is the admin flag."""
    assignable = [n for n in names if n not in ("user", "admin")]
    await hub.db.run(_replace_user_roles, user.id, assignable)
    hub.permissions.roles.users[user.id] = set(assignable)
    if "admin" in names and not user.admin:
        await hub.users.set_admin(user, True)
    hub.permissions.changed()


def _replace_user_roles(user_id: int, names: list[str]) -> None:
    orm.UserRole.delete().where(orm.UserRole.user == user_id).execute()
    for role in orm.Role.select().where(orm.Role.name.in_(names)):
        orm.UserRole.create(user=user_id, role=role)
