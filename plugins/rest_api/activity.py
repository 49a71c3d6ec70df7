"""Activity reports: servers post their users' activity here (JUPYTERHUB_ACTIVITY_URL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kernel.clock import utcnow
from kernel.errors import HubError
from kernel.users import Server
from kernel.web.identity import hub_of
from plugins.rest_api.base import authorize, caller, json_object, target_user


async def post_activity(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    name = request.path_params["name"]
    authorize(request, identity, "users:activity", user=name)
    user = target_user(hub, name)
    body = await json_object(request, allowed={"last_activity", "servers"}, required=True)
    servers = body.get("servers")
    if servers is None:
        servers = {}
    if not isinstance(servers, dict):
        raise HubError(400, "servers must be a JSON object")
    if body.get("last_activity") is None and not servers:
        raise HubError(400, "body must contain at least one of `last_activity` or `servers`")
    latest = (_timestamp(body["last_activity"]) if body.get("last_activity") is not None
              else None)
    updates: list[tuple[Server, datetime]] = []
    for server_name, report in servers.items():
        # The default server always exists, as in JupyterHub.
        server = (await hub.users.server(user, "") if server_name == ""
                  else user.server(server_name))
        if server is None or not isinstance(report, dict) or "last_activity" not in report:
            raise HubError(400, f"No such server {server_name!r} for user {user.name}, or no "
                                "last_activity for it")
        when = _timestamp(report["last_activity"])
        updates.append((server, when))
        latest = max(latest, when) if latest else when
    await hub.users.record_activity(user, latest, updates,
                                    hub.config.hub.activity_resolution)
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


ROUTES = [Route("/api/users/{name}/activity", post_activity, methods=["POST"])]
