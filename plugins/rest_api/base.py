"""What the API endpoints share: reading JSON bodies, permission checks, and the models."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from kernel.errors import HubError
from kernel.hub import Hub
from kernel.users import Server, User
from kernel.web.identity import Identity, check_xsrf, identify


def isoformat(when: datetime | None) -> str | None:
    """JupyterHub's timestamps: ISO 8601 in UTC with a Z."""
    if when is None:
        return None
    return when.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


async def json_body(request: Request) -> Any:
    """The request's JSON body; None when empty; 400 when it is not JSON."""
    body = await request.body()
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HubError(400, "Invalid JSON in body of request") from None


async def caller(request: Request) -> Identity:
    """The authenticated caller; 403 without credentials, or without XSRF for cookie writes."""
    identity = await identify(request)
    if identity is None:
        raise HubError(403, "Missing or invalid credentials.")
    if identity.by_cookie and request.method not in ("GET", "HEAD", "OPTIONS"):
        check_xsrf(request, None)
    return identity


def require(identity: Identity, scope: str, user_name: str) -> None:
    """403 unless the caller may use ``scope`` on ``user_name``'s resources.

    A login session, or a token that inherits its owner's rights, may act on
    the owner's own resources, and an admin's on everyone's. Other tokens
    need the scope itself, for that user.
    """
    owner = identity.user
    token_scopes = identity.token.scopes if identity.token is not None else ("inherit",)
    if "inherit" in token_scopes and (owner.admin or owner.name == user_name):
        return
    if scope in token_scopes or f"{scope}!user={user_name}" in token_scopes:
        return
    raise HubError(403, f"Action is not authorized with current scopes; requires any of "
                        f"[{scope}]")


def target_user(hub: Hub, name: str) -> User:
    user = hub.users.get(name)
    if user is None:
        raise HubError(404, f"No such user: {name}")
    return user


def server_model(hub: Hub, server: Server) -> dict[str, Any]:
    prefix = server.prefix(hub.urls.base_url)
    api_user = f"{hub.urls.hub_prefix}api/users/{server.user.name}"
    progress = (f"{api_user}/servers/{server.name}/progress" if server.name
                else f"{api_user}/server/progress")
    return {
        "name": server.name,
        "display_name": server.display_name or server.name,
        "full_name": server.full_name,
        "last_activity": isoformat(server.last_activity),
        "started": isoformat(server.started),
        "pending": server.pending,
        "ready": server.ready,
        "stopped": not server.active,
        "url": prefix,
        "user_options": server.user_options,
        "progress_url": progress,
        "full_url": None,
        "full_progress_url": None,
    }


def user_model(hub: Hub, user: User) -> dict[str, Any]:
    default = user.server("")
    return {
        "kind": "user",
        "name": user.name,
        "admin": user.admin,
        "roles": ["admin", "user"] if user.admin else ["user"],
        "groups": sorted(user.groups),
        "server": default.prefix(hub.urls.base_url) if default and default.ready else None,
        "pending": default.pending if default else None,
        "created": isoformat(user.created),
        "last_activity": isoformat(user.last_activity),
        "servers": {s.name: server_model(hub, s) for s in user.servers.values() if s.active},
        "user_info": user.user_info,
    }
