"""A plugin that brings badge scopes, and lets bob and the `friends` group into alice's server."""

from __future__ import annotations

from kernel import hookimpl
from kernel.plugin_scopes import ScopeDeclarations
from kernel.users import User


@hookimpl
def declare_scopes(scopes: ScopeDeclarations) -> None:
    scopes.add("read:badges", "Read users' badges.", own=True)
    scopes.add("badges", "Award and read badges.", ["read:badges"], roles=["admin"])


@hookimpl
def granted_scopes(user: User | None, group: str | None) -> list[str]:
    if (user is not None and user.name == "bob") or group == "friends":
        return ["access:servers!server=alice/"]
    return []
