"""Servers: start, stop, read, create, rename and remove them; their progress stream.

POST waits up to ``slow_spawn_timeout`` (10 s) for the server: 201 when it
is ready by then, else 202 while it goes on starting. DELETE waits up to
``slow_stop_timeout``: 204 when stopped, else 202.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from kernel import accounts
from kernel.errors import HubError
from kernel.hub import Hub
from kernel.users import Server, User
from kernel.web.identity import hub_of
from plugins.rest_api.base import (
    authorize,
    caller,
    expect,
    json_body,
    json_object,
    server_model,
    target_user,
)

#: Seconds between keep-alive lines on an idle progress stream.
KEEPALIVE_SECONDS = 8.0
#: JupyterHub 6's rule for new server names: a short, lower-case, URL-safe slug.
SERVER_NAME = re.compile(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,29}")


def _timeout(hub: Hub, name: str) -> float:
    """slow_spawn_timeout or slow_stop_timeout, from [hub.tornado_settings] as in JupyterHub."""
    return hub.config.hub.tornado_settings.get(name, 10.0)


def _names(request: Request) -> tuple[str, str]:
    return request.path_params["name"], request.path_params.get("server_name", "")


def _check_named_servers(hub: Hub, server_name: str) -> None:
    if server_name and not hub.config.hub.allow_named_servers:
        raise HubError(400, "Named servers are not enabled.")


async def existing_server(hub: Hub, user: User, server_name: str) -> Server:
    """A server of the user; 404 if a named one does not exist. The default server always
    exists, as in JupyterHub (its record is made, stopped, on first use)."""
    if not server_name:
        return await hub.users.server(user, "")
    server = user.server(server_name)
    if server is None:
        raise HubError(404, f"{user.name} has no server named {server_name!r}")
    return server


async def _new_server(hub: Hub, user: User, server_name: str) -> Server:
    """A new server record, within the limits on named servers."""
    if server_name:
        if not SERVER_NAME.fullmatch(server_name):
            raise HubError(400, f"Invalid server_name {server_name!r}: use up to 30 lower-case "
                                "letters, digits and single hyphens, starting with a letter")
        limit = hub.config.hub.named_server_limit_per_user
        named = [s for s in user.servers.values() if s.name]
        if limit and len(named) >= limit:
            raise HubError(400, f"User {user.name} already has the maximum of {limit} named "
                                "servers. One must be deleted before a new server can be "
                                "created")
    return await hub.users.server(user, server_name)


async def start_server(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    user_name, server_name = _names(request)
    authorize(request, identity, "start:servers", server=f"{user_name}/{server_name}")
    _check_named_servers(hub, server_name)
    user = target_user(hub, user_name)
    request_body = _server_request(await json_body(request))
    server = user.server(server_name) or await _new_server(hub, user, server_name)
    if server.pending == "spawn":
        return Response(status_code=202, media_type="text/plain")
    if "display_name" in request_body:
        server.display_name = request_body["display_name"]
    task = hub.lifecycle.request_spawn(server, request_body.get("user_options"))
    done, _ = await asyncio.wait([task], timeout=_timeout(hub, "slow_spawn_timeout"))
    if not done:
        return Response(status_code=202, media_type="text/plain")
    if server.ready:
        return Response(status_code=201, media_type="text/plain")
    failed = server.progress.failed
    if failed is None:
        raise HubError(500, "The spawn failed")
    raise HubError(server.progress.failure_status, failed["message"])


def _server_request(body: Any) -> dict[str, Any]:
    """display_name and user_options from a body, with JupyterHub's back-compat rule:
    a body with neither key is the user_options whole; no body reuses the last ones."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise HubError(400, "The request body must be a JSON object")
    if "user_options" not in body and "display_name" not in body:
        return {"user_options": body}
    request: dict[str, Any] = {}
    if body.get("user_options") is not None:
        request["user_options"] = expect(body, "user_options", dict, "a JSON object")
    if "display_name" in body:
        request["display_name"] = _display_name(body)
    return request


def _display_name(body: dict[str, Any]) -> str:
    name = expect(body, "display_name", str, "a string")
    if not 1 <= len(name) <= 255 or not name.isprintable():
        raise HubError(400, "display_name must be 1 to 255 printable characters")
    return name


async def create_server(request: Request) -> Response:
    """PUT: create a named server without starting it."""
    hub = hub_of(request)
    identity = await caller(request)
    user_name, server_name = _names(request)
    authorize(request, identity, "start:servers", server=f"{user_name}/{server_name}")
    if not server_name:
        raise HubError(409, "The default server always exists")
    _check_named_servers(hub, server_name)
    user = target_user(hub, user_name)
    if user.server(server_name) is not None:
        raise HubError(409, f"{user_name} already has a server named {server_name}")
    request_body = _server_request(await json_body(request))
    server = await _new_server(hub, user, server_name)
    server.display_name = request_body.get("display_name", "")
    # JupyterHub's new server answers {} (its spawner object resolves "no options").
    server.user_options = request_body.get("user_options") or {}
    await hub.users.save_server(server)
    return JSONResponse(server_model(hub, server), status_code=201)


async def get_server(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    user_name, server_name = _names(request)
    scopes = authorize(request, identity, "read:servers", server=f"{user_name}/{server_name}")
    server = await existing_server(hub, target_user(hub, user_name), server_name)
    with_state = scopes.allows("admin:server_state", server=server.full_name,
                               groups_of=hub.permissions.groups_of)
    return JSONResponse(server_model(hub, server, with_state=with_state))


async def change_server(request: Request) -> Response:
    """PATCH: rename, or set display_name or user_options, of a stopped server."""
    hub = hub_of(request)
    identity = await caller(request)
    user_name, server_name = _names(request)
    authorize(request, identity, "start:servers", server=f"{user_name}/{server_name}")
    user = target_user(hub, user_name)
    server = await existing_server(hub, user, server_name)
    body = await json_object(request, allowed={"name", "display_name", "user_options"},
                             required=True)
    if not body:
        raise HubError(400, "Nothing to change: give name, display_name or user_options")
    if server.active:
        raise HubError(400, f"{server.log_name} is active; stop it before changing it")
    if "name" in body:
        new_name = expect(body, "name", str, "a string")
        if not server_name or not new_name:
            raise HubError(400, "The default server cannot be renamed")
        if user.server(new_name) is not None:
            raise HubError(409, f"{user_name} already has a server named {new_name}")
        if not SERVER_NAME.fullmatch(new_name):
            raise HubError(400, f"Invalid server_name {new_name!r}")
        await accounts.rename_server(hub, server, new_name)
    if "display_name" in body:
        server.display_name = _display_name(body)
    if "user_options" in body:
        server.user_options = expect(body, "user_options", dict, "a JSON object")
    await hub.users.save_server(server)
    return JSONResponse(server_model(hub, server))


async def stop_server(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    user_name, server_name = _names(request)
    authorize(request, identity, "delete:servers", server=f"{user_name}/{server_name}")
    _check_named_servers(hub, server_name)
    user = target_user(hub, user_name)
    body = await json_object(request, allowed={"remove"})
    remove = expect(body, "remove", bool, "true or false") if "remove" in body else False
    if remove and not server_name:
        raise HubError(400, "The default server cannot be removed")
    server = user.server(server_name)
    if server is None:
        if server_name:
            raise HubError(404, f"{user_name} has no server named {server_name}")
        return Response(status_code=204)
    if not server.active:
        if remove:
            await hub.lifecycle.remove(server)
        return Response(status_code=204)
    task = hub.lifecycle.request_stop(server, remove=remove)
    done, _ = await asyncio.wait([task], timeout=_timeout(hub, "slow_stop_timeout"))
    return Response(status_code=204 if done else 202)


async def progress(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    user_name, server_name = _names(request)
    authorize(request, identity, "read:servers", server=f"{user_name}/{server_name}")
    server = await existing_server(hub, target_user(hub, user_name), server_name)
    if server.ready:
        events = _ready_only(hub, server)
    elif server.pending == "spawn" or server.progress.failed:
        events = server.progress.follow()
    else:
        raise HubError(400, f"{server.log_name} is not starting...")
    return StreamingResponse(_event_stream(events), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _ready_only(hub: Hub, server: Server) -> AsyncIterator[dict[str, Any]]:
    prefix = server.prefix(hub.urls.base_url)
    yield {"progress": 100, "ready": True, "message": f"Server ready at {prefix}",
           "html_message": f'Server ready at <a href="{prefix}">{prefix}</a>', "url": prefix}


async def _event_stream(events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[str]:
    """Server-sent events, with a keep-alive line whenever nothing happens for a while."""
    iterator = events.__aiter__()
    next_event = asyncio.ensure_future(iterator.__anext__())
    try:
        while True:
            done, _ = await asyncio.wait([next_event], timeout=KEEPALIVE_SECONDS)
            if not done:
                yield "\n\n"
                continue
            try:
                event = next_event.result()
            except StopAsyncIteration:
                return
            yield f"data: {json.dumps(event)}\n\n"
            next_event = asyncio.ensure_future(iterator.__anext__())
    finally:
        next_event.cancel()


ROUTES = [
    Route("/api/users/{name}/server", start_server, methods=["POST"]),
    Route("/api/users/{name}/server", stop_server, methods=["DELETE"]),
    Route("/api/users/{name}/server", get_server, methods=["GET"]),
    Route("/api/users/{name}/server/progress", progress, methods=["GET"]),
    # `servers/{server_name}`, and `servers/` (an empty name: the default server, as
    # JupyterHub's pattern allows).
    *(route for path in ("/api/users/{name}/servers/{server_name}", "/api/users/{name}/servers/")
      for route in (Route(path, start_server, methods=["POST"]),
                    Route(path, stop_server, methods=["DELETE"]),
                    Route(path, get_server, methods=["GET"]),
                    Route(path, create_server, methods=["PUT"]),
                    Route(path, change_server, methods=["PATCH"]))),
    Route("/api/users/{name}/servers/{server_name}/progress", progress, methods=["GET"]),
]
