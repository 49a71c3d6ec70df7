"""The deprecated /authorizations endpoints, answered as JupyterHub 6 answers them.

Old services and single-user servers asked these who a token or a cookie
belongs to; GET /api/user replaced them. POST /authorizations/token was
removed in JupyterHub 2 and always answers 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kernel.errors import HubError
from kernel.web.identity import hub_of
from plugins.rest_api.base import caller, user_model
from plugins.rest_api.services import service_model


async def _token_caller(request: Request) -> None:
    identity = await caller(request)
    if identity.token is None:
        raise HubError(403, "This endpoint needs an API token")


async def owner_of_token(request: Request) -> Response:
    await _token_caller(request)
    hub = hub_of(request)
    info = await hub.tokens.find(request.path_params["token"])
    if info is not None and info.service_id is not None:
        service = hub.services.by_id(info.service_id)
        if service is not None:
            return JSONResponse(service_model(hub, service))
    user = hub.users.by_id(info.user_id) if info and info.user_id is not None else None
    if user is None:
        raise HubError(404, "No such token")
    return JSONResponse(user_model(hub, user))


async def owner_of_cookie(request: Request) -> Response:
    await _token_caller(request)
    hub = hub_of(request)
    value = request.path_params.get("cookie_value") or request.cookies.get(
        request.path_params["cookie_name"], "")
    session_id = hub.signer.session_from_login(value) if value else None
    user_id = hub.sessions.user_id(session_id) if session_id else None
    user = hub.users.by_id(user_id) if user_id is not None else None
    if user is None:
        raise HubError(404, "No such cookie")
    return JSONResponse(user_model(hub, user))


async def removed(request: Request) -> Response:
    raise HubError(404, "POST /authorizations/token was removed; create tokens with POST "
                        "/users/{name}/tokens")


ROUTES = [
    Route("/api/authorizations/token", removed, methods=["POST"]),
    Route("/api/authorizations/token/{token}", owner_of_token, methods=["GET"]),
    Route("/api/authorizations/cookie/{cookie_name}", owner_of_cookie, methods=["GET"]),
    Route("/api/authorizations/cookie/{cookie_name}/{cookie_value}", owner_of_cookie,
          methods=["GET"]),
]
