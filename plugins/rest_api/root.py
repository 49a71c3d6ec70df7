"""The API's root, info and health endpoints, and whoami (GET /api/user)."""

from __future__ import annotations

import sys

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kernel.errors import HubError
from kernel.web.identity import hub_of
from plugins.rest_api.base import caller, user_model


async def api_root(request: Request) -> Response:
    hub = hub_of(request)
    return JSONResponse({"version": hub.version}, headers={"Access-Control-Allow-Origin": "*"})


async def health(request: Request) -> Response:
    return Response(status_code=200)


async def info(request: Request) -> Response:
    identity = await caller(request)
    if not identity.user.admin:
        raise HubError(403, "Action is not authorized with current scopes; requires any of "
                            "[read:hub]")
    hub = hub_of(request)
    roles = hub.plugins.roles
    return JSONResponse({
        "version": hub.version,
        "python": sys.version,
        "sys_executable": sys.executable,
        "spawner": {"class": roles["spawner_class"], "version": hub.version},
        "authenticator": {"class": roles["authenticator_class"], "version": hub.version},
    })


async def whoami(request: Request) -> Response:
    identity = await caller(request)
    hub = hub_of(request)
    model = user_model(hub, identity.user)
    model["token_id"] = f"a{identity.token.id}" if identity.token else None
    model["session_id"] = identity.session_id
    model["scopes"] = sorted(identity.token.scopes) if identity.token else ["inherit"]
    return JSONResponse(model)


ROUTES = [
    Route("/api", api_root, methods=["GET"]),
    Route("/api/", api_root, methods=["GET"]),
    Route("/api/info", info, methods=["GET"]),
    Route("/api/user", whoami, methods=["GET"]),
    Route("/health", health, methods=["GET", "HEAD"]),
    Route("/api/health", health, methods=["GET", "HEAD"]),
]
