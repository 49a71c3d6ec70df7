"""The API's root, info and health endpoints, whoami (GET /api/user) and shutdown."""

from __future__ import annotations

import sys

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kernel.web.identity import hub_of
from plugins.rest_api.base import authorize, caller, expect, json_object, scopes_of, user_model
from plugins.rest_api.services import service_model


async def api_root(request: Request) -> Response:
    hub = hub_of(request)
    return JSONResponse({"version": hub.api_version},
                        headers={"Access-Control-Allow-Origin": "*"})


async def health(request: Request) -> Response:
    return Response(status_code=200)


async def info(request: Request) -> Response:
    identity = await caller(request)
    authorize(request, identity, "read:hub")
    hub = hub_of(request)
    infos = hub.plugins.infos
    roles = hub.plugins.roles
    return JSONResponse({
        "version": hub.api_version,
        "kernelhub_version": hub.version,
        "python": sys.version,
        "sys_executable": sys.executable,
        "spawner": {"class": roles["spawner_class"],
                    "version": infos[roles["spawner_class"]].version},
        "authenticator": {"class": roles["authenticator_class"],
                          "version": infos[roles["authenticator_class"]].version},
    })


async def whoami(request: Request) -> Response:
    """The caller's model, with the scopes of these credentials and their token's id."""
    identity = await caller(request)
    hub = hub_of(request)
    scopes = scopes_of(request, identity)
    readable = scopes | hub.permissions.identify_scopes(identity)
    if identity.user is not None:
        model = user_model(hub, identity.user, readable)
    else:
        assert identity.service is not None
        model = service_model(hub, identity.service, readable)
    model.update(kind=identity.kind, name=identity.name)
    # Both are the token's: a login cookie has no token, so neither (as in JupyterHub).
    model["token_id"] = f"a{identity.token.id}" if identity.token else None
    model["session_id"] = identity.token.session_id if identity.token else None
    model["scopes"] = scopes.as_list()
    return JSONResponse(model)


async def shutdown(request: Request) -> Response:
    """Shut the hub down (after answering), optionally leaving servers and proxy running."""
    identity = await caller(request)
    authorize(request, identity, "shutdown")
    hub = hub_of(request)
    body = await json_object(request, allowed={"servers", "proxy"})
    if "servers" in body:
        hub.cleanup_servers = expect(body, "servers", bool, "true or false")
    if "proxy" in body:
        hub.cleanup_proxy = expect(body, "proxy", bool, "true or false")
    hub.request_shutdown()
    return JSONResponse({"message": "Shutting down Hub"}, status_code=202)


ROUTES = [
    Route("/api", api_root, methods=["GET"]),
    Route("/api/", api_root, methods=["GET"]),
    Route("/api/info", info, methods=["GET"]),
    Route("/api/user", whoami, methods=["GET"]),
    Route("/api/shutdown", shutdown, methods=["POST"]),
    Route("/health", health, methods=["GET", "HEAD"]),
    Route("/api/health", health, methods=["GET", "HEAD"]),
]
