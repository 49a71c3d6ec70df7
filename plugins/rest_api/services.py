"""Services: list and read them; add and delete external ones at run time.

Services from hub.ini cannot be deleted here (405); managed services cannot
be created here (the hub does not run commands it was sent over HTTP).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kernel.errors import HubError
from kernel.hub import Hub
from kernel.scopes import Owner, Scopes
from kernel.security.tokens import provided_token_rounds
from kernel.services import Service, ServiceError, ServiceSpec
from kernel.web.identity import Identity, hub_of
from plugins.rest_api.base import authorize, caller, isoformat, json_object

#: Which fields of the service model each scope reveals (JupyterHub's filtering);
#: ``health`` is kernelhub's.
SERVICE_FIELDS = {
    "read:services": ("kind", "name", "admin", "url", "prefix", "command", "pid", "info",
                      "display", "health"),
    "read:services:name": ("kind", "name", "admin"),
    "read:roles:services": ("kind", "name", "roles", "admin"),
}

#: What POST accepts, and the JSON type of each (JupyterHub's service keys).
SPEC_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str, "admin": bool, "url": str, "oauth_client_allowed_scopes": list,
    "api_token": str, "info": dict, "display": bool, "oauth_no_confirm": bool,
    "command": list, "cwd": str, "environment": dict, "user": str, "oauth_client_id": str,
    "oauth_redirect_uri": str,
}


def service_model(hub: Hub, service: Service, scopes: Scopes | None = None) -> dict[str, Any]:
    """The service model; with ``scopes``, only the fields they cover for this service."""
    full = {
        "kind": "service",
        "name": service.name,
        "roles": sorted(hub.permissions.service_role_names(service)),
        "admin": service.spec.admin,
        "url": service.spec.url,
        "prefix": service.prefix(hub.urls.base_url) if service.url else "",
        "command": list(service.spec.command),
        "pid": service.pid,
        "info": service.spec.info,
        "display": service.spec.display,
        "health": {"status": service.health.status,
                   "since": isoformat(service.health.since),
                   "reason": service.health.reason},
    }
    if scopes is None:
        return full
    fields: set[str] = set()
    for scope, visible in SERVICE_FIELDS.items():
        if scopes.allows(scope, service=service.name):
            fields.update(visible)
    return {key: value for key, value in full.items() if key in fields}


async def list_services(request: Request) -> Response:
    identity = await caller(request)
    hub = hub_of(request)
    scopes = authorize(request, identity, "list:services")
    return JSONResponse({s.name: service_model(hub, s, scopes) for s in hub.services
                         if scopes.allows("list:services", service=s.name)})


async def get_service(request: Request) -> Response:
    identity = await caller(request)
    hub = hub_of(request)
    name = request.path_params["name"]
    scopes = authorize(request, identity, "read:services", "read:services:name",
                       "read:roles:services", service=name)
    service = _service(hub, name)
    return JSONResponse(service_model(hub, service, scopes))


async def add_service(request: Request) -> Response:
    identity = await caller(request)
    hub = hub_of(request)
    name = request.path_params["name"]
    authorize(request, identity, "admin:services", service=name)
    if hub.services.get(name) is not None:
        raise HubError(409, f"Service {name} already exists")
    body = await json_object(request, allowed=set(SPEC_TYPES), required=True)
    for key, value in body.items():
        if not isinstance(value, SPEC_TYPES[key]):
            raise HubError(400, f"service.{key} has the wrong type ({type(value).__name__})")
    if body.get("command"):
        raise HubError(400, f"Can not create managed service {name} at runtime: managed "
                            "services are defined in hub.ini")
    spec = _spec(hub, name, body)
    _check_grants(hub, identity, spec)
    service = await hub.services.add(
        spec, token_rounds=provided_token_rounds(hub.config.hub.trust_user_provided_tokens))
    hub.permissions.changed()
    if service.url:
        await hub.routes.add_service(service)
    hub.emit("service.added", service=name, url=service.spec.url)
    return JSONResponse(service_model(hub, service), status_code=201)


async def delete_service(request: Request) -> Response:
    identity = await caller(request)
    hub = hub_of(request)
    name = request.path_params["name"]
    authorize(request, identity, "admin:services", service=name)
    service = _service(hub, name)
    if service.from_config:
        raise HubError(405, f"Service {name} is not modifiable at runtime: it is defined "
                            "in hub.ini")
    await hub.routes.remove_service(service)
    # Its tokens, and those its OAuth client issued, are revoked through the token store
    # before the database's cascades delete them: a cached answer must not outlive them,
    # or they would be tokens of the next service given the same id.
    await hub.tokens.revoke_where(service_id=service.id)
    client = (await hub.oauth_clients.get(service.spec.oauth_client_id)
              if service.spec.oauth_client_id else None)
    if client is not None:
        await hub.tokens.revoke_where(oauth_client_id=client.id)
    await hub.services.remove(service)
    hub.permissions.changed()
    hub.emit("service.removed", service=name)
    return Response(status_code=200)


def _service(hub: Hub, name: str) -> Service:
    service = hub.services.get(name)
    if service is None:
        raise HubError(404, f"No such service: {name}")
    return service


def _spec(hub: Hub, name: str, body: dict[str, Any]) -> ServiceSpec:
    scopes = body.get("oauth_client_allowed_scopes", [])
    if not all(isinstance(s, str) for s in scopes):
        raise HubError(400, "service.oauth_client_allowed_scopes must be a list of scopes")
    spec = ServiceSpec(
        name=name, url=body.get("url", ""), api_token=body.get("api_token", ""),
        admin=body.get("admin", False), display=body.get("display", True),
        info=body.get("info", {}), oauth_client_id=body.get("oauth_client_id", ""),
        oauth_redirect_uri=body.get("oauth_redirect_uri", ""),
        oauth_no_confirm=body.get("oauth_no_confirm", False),
        oauth_client_allowed_scopes=tuple(scopes))
    try:
        return spec.completed(hub.urls)
    except ServiceError as e:
        raise HubError(400, f"service.{e.field}: {e}") from None


def _check_grants(hub: Hub, identity: Identity, spec: ServiceSpec) -> None:
    """400 when the service would get scopes its creator does not hold."""
    requested = [*(hub.permissions.role_scopes("admin") if spec.admin else ()),
                 *spec.oauth_client_allowed_scopes]
    owner = (Owner(user=identity.name) if identity.user is not None
             else Owner(service=identity.name))
    missing = hub.permissions.not_held(hub.permissions.scopes(identity), requested, owner)
    if missing:
        raise HubError(400, f"Not assigning requested scopes {', '.join(missing)}: not held "
                            f"by {identity.name}")


ROUTES = [
    Route("/api/services", list_services, methods=["GET"]),
    Route("/api/services/{name}", get_service, methods=["GET"]),
    Route("/api/services/{name}", add_service, methods=["POST"]),
    Route("/api/services/{name}", delete_service, methods=["DELETE"]),
]
