"""Starting and stopping servers, their progress stream, and activity reports.

POST waits up to ``slow_spawn_timeout`` (10 s) for the server: 201 when it
is ready by then, else 202 while it goes on starting. DELETE waits up to
``slow_stop_timeout``: 204 when stopped, else 202.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from kernel.db.fields import utcnow
from kernel.errors import HubError
from kernel.hub import Hub
from kernel.users import Server, User
from kernel.web.identity import hub_of
from plugins.rest_api.base import caller, json_body, require, target_user

#: Seconds between keep-alive lines on an idle progress stream.
KEEPALIVE_SECONDS = 8.0


def _timeout(hub: Hub, name: str) -> float:
    """slow_spawn_timeout or slow_stop_timeout, from [hub.tornado_settings] as in JupyterHub."""
    return hub.config.hub.tornado_settings.get(name, 10.0)


def _server_name(hub: Hub, request: Request) -> str:
    name = request.path_params.get("server_name", "")
    if name and not hub.config.hub.allow_named_servers:
        raise HubError(400, "Named servers are not enabled.")
    return name


async def start_server(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    user = target_user(hub, request.path_params["user_name"])
    require(identity, "servers", user.name)
    name = _server_name(hub, request)
    options = _user_options(await json_body(request))
    server = await hub.users.server(user, name)
    if server.pending == "spawn":
        return Response(status_code=202)
    task = hub.lifecycle.request_spawn(server, options)
    done, _ = await asyncio.wait([task], timeout=_timeout(hub, "slow_spawn_timeout"))
    if not done:
        return Response(status_code=202)
    if server.ready:
        return Response(status_code=201)
    failed = server.progress.failed
    raise HubError(500, failed["message"] if failed else "The spawn failed")


def _user_options(body: Any) -> dict[str, Any] | None:
    """JupyterHub's back-compat rule: a body without the known keys is user_options whole."""
    if body is None:
        return None
    if not isinstance(body, dict):
        raise HubError(400, "The request body must be a JSON object")
    if "user_options" in body or "display_name" in body:
        options = body.get("user_options")
        if options is not None and not isinstance(options, dict):
            raise HubError(400, "user_options must be a JSON object")
        return options
    return body


async def stop_server(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    user = target_user(hub, request.path_params["user_name"])
    require(identity, "servers", user.name)
    name = _server_name(hub, request)
    server = user.server(name)
    if server is None:
        if name:
            raise HubError(404, f"{user.name} has no server named {name}")
        return Response(status_code=204)
    if not server.active:
        return Response(status_code=204)
    task = hub.lifecycle.request_stop(server)
    done, _ = await asyncio.wait([task], timeout=_timeout(hub, "slow_stop_timeout"))
    return Response(status_code=204 if done else 202)


async def progress(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    user = target_user(hub, request.path_params["user_name"])
    require(identity, "read:servers", user.name)
    name = request.path_params.get("server_name", "")
    server = user.server(name)
    if server is None:
        raise HubError(404, f"{user.name} has no server named {name!r}")
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


async def activity(request: Request) -> Response:
    """Servers report their users' activity here (JUPYTERHUB_ACTIVITY_URL)."""
    hub = hub_of(request)
    identity = await caller(request)
    user = target_user(hub, request.path_params["user_name"])
    require(identity, "users:activity", user.name)
    body = await json_body(request)
    if not isinstance(body, dict) or not ("last_activity" in body or "servers" in body):
        raise HubError(400, "Expected last_activity and/or servers in the body")
    latest = _timestamp(body.get("last_activity")) if "last_activity" in body else None
    servers = body.get("servers") or {}
    if not isinstance(servers, dict):
        raise HubError(400, "servers must be a JSON object")
    updates: list[tuple[Server, datetime]] = []
    for name, report in servers.items():
        server = user.server(name)
        if server is None or not isinstance(report, dict):
            raise HubError(400, f"No such server {name!r} for user {user.name}")
        when = _timestamp(report.get("last_activity"))
        updates.append((server, when))
        latest = max(latest, when) if latest else when
    await _record_activity(hub, user, latest, updates)
    return Response(status_code=200)


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise HubError(400, f"last_activity must be an ISO 8601 timestamp, not {value!r}")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HubError(400, f"last_activity {value!r} is not an ISO 8601 timestamp") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if when > utcnow() + timedelta(minutes=59):
        raise HubError(400, f"last_activity {value!r} is more than an hour in the future")
    return when


async def _record_activity(hub: Hub, user: User, latest: datetime | None,
                           updates: list[tuple[Server, datetime]]) -> None:
    """Keep the newest time; skip writes closer than activity_resolution to the stored one."""
    resolution = timedelta(seconds=hub.config.hub.activity_resolution)
    for server, when in updates:
        if server.last_activity is None or when > server.last_activity + resolution:
            server.last_activity = when
            await hub.users.save_server(server)
    if latest and (user.last_activity is None or latest > user.last_activity + resolution):
        user.last_activity = latest
        await hub.users.save_activity(user)


ROUTES = [
    Route("/api/users/{user_name}/server", start_server, methods=["POST"]),
    Route("/api/users/{user_name}/server", stop_server, methods=["DELETE"]),
    Route("/api/users/{user_name}/servers/{server_name}", start_server, methods=["POST"]),
    Route("/api/users/{user_name}/servers/{server_name}", stop_server, methods=["DELETE"]),
    Route("/api/users/{user_name}/server/progress", progress, methods=["GET"]),
    Route("/api/users/{user_name}/servers/{server_name}/progress", progress, methods=["GET"]),
    Route("/api/users/{user_name}/activity", activity, methods=["POST"]),
]
