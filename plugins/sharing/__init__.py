"""The `sharing` plugin (on by default): owners share their servers with users and groups.

JupyterHub 5's sharing: shares and share codes kept in the plugin's own
tables (``models.py``, the ``stored_data`` hook), held in memory by the
``ShareRegistry`` (``registry.py``), granted to their recipients through the
``granted_scopes`` hook, managed through the REST API (``api.py``) and the
share and accept-share pages (``pages.py``); the home page shows share
buttons and what is shared with the user (``extra_template_vars``). With
``no:sharing`` none of it exists: the endpoints answer 404 and the pages
show no sharing.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute

from kernel import hookimpl
from kernel.api import StoredData
from kernel.hub import Hub
from kernel.plugin_scopes import ScopeDeclarations
from kernel.users import Server, User
from plugins.sharing import api, pages
from plugins.sharing.models import MIGRATIONS, ShareCode
from plugins.sharing.models import Share as ShareRow
from plugins.sharing.registry import Share, shares_of


@hookimpl
def stored_data() -> StoredData:
    return StoredData([ShareRow, ShareCode], MIGRATIONS,
                      load=lambda hub: shares_of(hub).load())


@hookimpl
def declare_scopes(scopes: ScopeDeclarations) -> None:
    scopes.add("read:shares", "Read who a server is shared with.", own=True)
    scopes.add("read:users:shares", "Read the servers shared with users.")
    scopes.add("users:shares", "Read and leave users' shares.", ["read:users:shares"],
               own=True)
    scopes.add("read:groups:shares", "Read the servers shared with groups.")
    scopes.add("groups:shares", "Read and leave groups' shares.", ["read:groups:shares"])
    scopes.add("shares", "Share servers with users and groups.",
               ["access:servers", "read:shares", "users:shares", "groups:shares"],
               roles=["admin"])


@hookimpl
def granted_scopes(hub: Hub, user: User | None, group: str | None) -> list[str]:
    shares = shares_of(hub)
    if user is not None:
        return shares.scopes_for(user.id, user.groups)
    return [scope for share in shares.with_group(group or "") for scope in share.scopes]


@hookimpl
async def resource_renamed(hub: Hub, old: str, new: str) -> None:
    await shares_of(hub).follow_rename(old, new)


@hookimpl
def resource_deleted(hub: Hub, user: User | None, server: Server | None,
                     group: str | None) -> None:
    shares = shares_of(hub)
    if user is not None:
        shares.forget_user(user.id)
    if server is not None:
        shares.forget_server(server)
    if group is not None:
        shares.forget_group(group)


@hookimpl
def web_routes(hub: Hub) -> list[BaseRoute]:
    return [*api.ROUTES, *pages.ROUTES]


@hookimpl
def extra_template_vars(hub: Hub, request: Request, template: str,
                        user: User | None) -> dict[str, Any] | None:
    """The home page's share buttons and the servers shared with the user."""
    if template != "home.html" or user is None:
        return None
    scopes = hub.permissions.user_scopes(user)
    return {"can_share": scopes.allows("shares", user=user.name,
                                       groups_of=hub.permissions.groups_of),
            "shared_with_me": [_shared_server(hub, s) for s in shared_with(hub, user)]}


def shared_with(hub: Hub, user: User) -> list[Share]:
    """Servers shared with the user, directly or through a group, each once."""
    shares = shares_of(hub)
    by_server = {id(s.server): s for g in sorted(user.groups) for s in shares.with_group(g)}
    by_server.update({id(s.server): s for s in shares.with_user(user.id)})
    return sorted(by_server.values(), key=lambda s: (s.server.user.name, s.server.name))


def _shared_server(hub: Hub, share: Share) -> dict[str, Any]:
    server = share.server
    return {"owner": server.user.name, "name": server.name,
            "display_name": server.display_name or server.name, "ready": server.ready,
            "url": server.link(hub.urls), "direct": share.user_id is not None,
            "group": share.group_name, "last_activity": server.last_activity}
