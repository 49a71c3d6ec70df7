"""Sharing: shares of a server with users and groups, share codes, and what is shared
with a user or a group (JupyterHub 5's sharing API). Share lists are always paginated."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kernel.errors import HubError
from kernel.hub import Hub
from kernel.users import Server
from kernel.web.identity import hub_of
from plugins.rest_api.base import (
    Page,
    authorize,
    caller,
    isoformat,
    json_object,
    target_user,
)
from plugins.sharing.models import ShareCode
from plugins.sharing.registry import Share, code_expiry, server_scopes, shares_of


def shared_server(hub: Hub, server: Server) -> dict[str, Any]:
    link = server.link(hub.urls)
    return {"user": {"name": server.user.name}, "name": server.name, "url": link,
            "full_url": link if "://" in link else None, "ready": server.ready}


def share_model(hub: Hub, share: Share) -> dict[str, Any]:
    user = hub.users.by_id(share.user_id) if share.user_id is not None else None
    return {
        "server": shared_server(hub, share.server),
        "scopes": share.scopes,
        "user": {"name": user.name} if user else None,
        "group": {"name": share.group_name} if share.group_name else None,
        "kind": "user" if user else "group",
        "created_at": isoformat(share.created_at),
    }


def code_model(hub: Hub, row: ShareCode, server: Server) -> dict[str, Any]:
    return {
        "server": shared_server(hub, server),
        "scopes": row.scopes,
        "id": f"sc_{row.id}",
        "created_at": isoformat(row.created_at),
        "expires_at": isoformat(row.expires_at),
        "exchange_count": row.exchange_count,
        "last_exchanged_at": isoformat(row.last_exchanged_at),
    }


async def _server(hub: Hub, owner: str, name: str) -> Server:
    """The owner's server; the default one always exists, as in JupyterHub."""
    user = target_user(hub, owner)
    if not name:
        return await hub.users.server(user, "")
    server = user.server(name)
    if server is None:
        raise HubError(404, f"No such server: {owner}/{name}")
    return server


def _path(request: Request) -> tuple[str, str]:
    """(owner, server name); a path ending in / names the owner's default server."""
    return request.path_params["owner"], request.path_params.get("server_name", "")


def _names_a_server(request: Request) -> bool:
    return "server_name" in request.path_params or request.url.path.endswith("/")


async def list_shares(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    owner, name = _path(request)
    if _names_a_server(request):
        authorize(request, identity, "read:shares", server=f"{owner}/{name}")
        shares = shares_of(hub).of_server(await _server(hub, owner, name))
    else:
        authorize(request, identity, "read:shares", user=owner)
        shares = shares_of(hub).of_owner(target_user(hub, owner).id)
    page = Page(request, always_paginated=True)
    return page.response([share_model(hub, s) for s in page.slice(shares)], len(shares))


def _recipient(hub: Hub, body: dict[str, Any]) -> tuple[int | None, int | None, str | None]:
    """(user id, group id, group name) of the one user or group a request names."""
    if ("user" in body) == ("group" in body):
        raise HubError(400, "Give exactly one of user and group")
    if "user" in body:
        user = hub.users.get(body["user"]) if isinstance(body["user"], str) else None
        if user is None:
            raise HubError(400, f"No such user: {body['user']}")
        return user.id, None, None
    group = hub.groups.get(body["group"]) if isinstance(body["group"], str) else None
    if group is None:
        raise HubError(400, f"No such group: {body['group']}")
    return None, group.id, group.name


async def grant(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    owner, name = _path(request)
    authorize(request, identity, "shares", server=f"{owner}/{name}")
    server = await _server(hub, owner, name)
    body = await json_object(request, allowed={"user", "group", "scopes"}, required=True)
    scopes = server_scopes(server, body.get("scopes"))
    _check_sharer_holds(request, identity, scopes)
    _check_sharer_may_name(request, identity, body)
    user_id, group_id, group = _recipient(hub, body)
    if user_id == server.user.id:
        raise HubError(400, "A server cannot be shared with its owner")
    share = await shares_of(hub).grant(server, user_id, group_id, group, scopes)
    hub.permissions.changed()
    return JSONResponse(share_model(hub, share))


def _check_sharer_holds(request: Request, identity: Any, scopes: list[str]) -> None:
    """Nobody can share more than they may do themselves."""
    hub = hub_of(request)
    held = hub.permissions.scopes(identity)
    for scope in scopes:
        base, _, server = scope.partition("!server=")
        if not held.allows(base, server=server, groups_of=hub.permissions.groups_of):
            raise HubError(403, f"Cannot share {base}: you do not hold it on {server}")


def _check_sharer_may_name(request: Request, identity: Any, body: dict[str, Any]) -> None:
    """Sharing with someone by name needs the right to read that name (as in JupyterHub):
    a token that may only share cannot probe which users and groups exist."""
    hub = hub_of(request)
    held = hub.permissions.scopes(identity)
    for kind, scope in (("user", "read:users:name"), ("group", "read:groups:name")):
        name = body.get(kind)
        if isinstance(name, str) and not held.allows(
                scope, **{kind: name}, groups_of=hub.permissions.groups_of):
            raise HubError(403, f"Need scope '{scope}' to share with {kind}s by name")


async def revoke(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    owner, name = _path(request)
    authorize(request, identity, "shares", server=f"{owner}/{name}")
    server = await _server(hub, owner, name)
    body = await json_object(request, allowed={"user", "group", "scopes"}, required=True)
    user_id, _, group = _recipient(hub, body)
    share = shares_of(hub).find(server, user_id, group)
    if share is None:
        return JSONResponse({})
    scopes = server_scopes(server, body["scopes"]) if body.get("scopes") else None
    remaining = await shares_of(hub).revoke(share, scopes)
    hub.permissions.changed()
    return JSONResponse(share_model(hub, remaining) if remaining else {})


async def revoke_all(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    owner, name = _path(request)
    authorize(request, identity, "shares", server=f"{owner}/{name}")
    for share in shares_of(hub).of_server(await _server(hub, owner, name)):
        await shares_of(hub).revoke(share)
    hub.permissions.changed()
    return Response(status_code=204)


async def list_codes(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    owner, name = _path(request)
    if _names_a_server(request):
        authorize(request, identity, "read:shares", server=f"{owner}/{name}")
        servers = [await _server(hub, owner, name)]
    else:
        authorize(request, identity, "read:shares", user=owner)
        servers = list(target_user(hub, owner).servers.values())
    by_id = {s.id: s for s in servers}
    rows = await shares_of(hub).codes(list(by_id))
    page = Page(request, always_paginated=True)
    return page.response([code_model(hub, r, by_id[r.server_id]) for r in page.slice(rows)],
                         len(rows))


async def issue_code(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    owner, name = _path(request)
    authorize(request, identity, "shares", server=f"{owner}/{name}")
    server = await _server(hub, owner, name)
    body = await json_object(request, allowed={"scopes", "expires_in"})
    scopes = server_scopes(server, body.get("scopes"))
    _check_sharer_holds(request, identity, scopes)
    if "expires_in" in body and body["expires_in"] is None:
        raise HubError(400, "expires_in must be a number of seconds")  # as JupyterHub
    code, row = await shares_of(hub).issue_code(server, scopes, code_expiry(body.get("expires_in")))
    model = code_model(hub, row, server)
    model.update(code=code, accept_url=f"{hub.urls.hub_prefix}accept-share?code={code}",
                 full_accept_url=None)
    return JSONResponse(model)


async def revoke_code(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    owner, name = _path(request)
    authorize(request, identity, "shares", server=f"{owner}/{name}")
    server = await _server(hub, owner, name)
    code, code_id = request.query_params.get("code"), request.query_params.get("id")
    # As JupyterHub: ?code= or ?id= deletes that code (404 if there is none), neither
    # deletes every code of the server.
    if code:
        if not await shares_of(hub).revoke_code(server, code=code):
            raise HubError(404, "No matching code found")
    elif code_id:
        number = code_id.removeprefix("sc_")
        deleted = number.isdigit() and await shares_of(hub).revoke_code(server,
                                                                   code_id=int(number))
        if not deleted:
            raise HubError(404, f"No code found matching id={code_id}")
    else:
        await shares_of(hub).revoke_code(server)
    return Response(status_code=204)


async def shared_with(request: Request) -> Response:
    """What is shared with a user (/users/NAME/shared) or a group (/groups/NAME/shared)."""
    hub = hub_of(request)
    identity = await caller(request)
    name = request.path_params["name"]
    shares = _shared_with(request, identity, name, "read:")
    page = Page(request, always_paginated=True)
    return page.response([share_model(hub, s) for s in page.slice(shares)], len(shares))


def _shared_with(request: Request, identity: Any, name: str, prefix: str) -> list[Share]:
    hub = hub_of(request)
    if request.url.path.startswith(f"{hub.urls.hub_prefix}api/users/"):
        authorize(request, identity, f"{prefix}users:shares", user=name)
        return shares_of(hub).with_user(target_user(hub, name).id)
    authorize(request, identity, f"{prefix}groups:shares", group=name)
    if hub.groups.get(name) is None:
        raise HubError(404, f"No such group: {name}")
    return shares_of(hub).with_group(name)


def _one_share(request: Request, shares: list[Share]) -> Share:
    owner, server_name = _path(request)
    share = next((s for s in shares if s.server.user.name == owner
                  and s.server.name == server_name), None)
    if share is None:
        raise HubError(404, f"No share of {owner}/{server_name}")
    return share


async def get_shared(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    shares = _shared_with(request, identity, request.path_params["name"], "read:")
    return JSONResponse(share_model(hub, _one_share(request, shares)))


async def leave_shared(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    shares = _shared_with(request, identity, request.path_params["name"], "")
    await shares_of(hub).revoke(_one_share(request, shares))
    hub.permissions.changed()
    return Response(status_code=204)


#: What answers a request to a share endpoint.
Endpoint = Callable[[Request], Awaitable[Response]]


def _routes(path: str, endpoints: list[tuple[Endpoint, list[str]]]) -> list[Route]:
    """Routes for a named server's path and for the default server's (ending in /)."""
    return [Route(p, endpoint, methods=methods)
            for p in (f"{path}/{{server_name}}", f"{path}/")
            for endpoint, methods in endpoints]


ROUTES = [
    Route("/api/shares/{owner}", list_shares, methods=["GET"]),
    *_routes("/api/shares/{owner}", [(list_shares, ["GET"]), (grant, ["POST"]),
                                      (revoke, ["PATCH"]), (revoke_all, ["DELETE"])]),
    Route("/api/share-codes/{owner}", list_codes, methods=["GET"]),
    *_routes("/api/share-codes/{owner}", [(list_codes, ["GET"]), (issue_code, ["POST"]),
                                           (revoke_code, ["DELETE"])]),
    Route("/api/users/{name}/shared", shared_with, methods=["GET"]),
    *_routes("/api/users/{name}/shared/{owner}", [(get_shared, ["GET"]),
                                                   (leave_shared, ["DELETE"])]),
    Route("/api/groups/{name}/shared", shared_with, methods=["GET"]),
    *_routes("/api/groups/{name}/shared/{owner}", [(get_shared, ["GET"]),
                                                    (leave_shared, ["DELETE"])]),
]
