"""The proxy's routing table: read it, re-sync it, or point the hub at a new proxy."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kernel.errors import HubError
from kernel.web.identity import hub_of
from plugins.rest_api.base import Page, authorize, caller, expect, json_object
from plugins.support.chp_client import RESTProxy


async def get_routes(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    authorize(request, identity, "proxy")
    routes = await hub.proxy.get_all_routes()
    page = Page(request)
    items = sorted(routes.items())
    if page.paginated:
        return page.response(dict(page.slice(items)), len(items))
    return JSONResponse(dict(page.slice(items)))


async def sync_routes(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    authorize(request, identity, "proxy")
    await hub.routes.check_routes()
    return Response(status_code=200)


async def new_proxy(request: Request) -> Response:
    """A proxy moved (or its token changed): talk to it from now on, and re-sync it."""
    hub = hub_of(request)
    identity = await caller(request)
    authorize(request, identity, "proxy")
    body = await json_object(request, allowed={"api_url", "auth_token", "ip", "port",
                                               "protocol"}, required=True)
    if not isinstance(hub.proxy, RESTProxy):
        raise HubError(400, "This hub's proxy is not driven through an API URL")
    if "api_url" in body:
        hub.proxy.api_url = expect(body, "api_url", str, "a URL").rstrip("/")
    elif {"ip", "port", "protocol"} & body.keys():
        scheme = body.get("protocol", hub.proxy.api_url.split("://")[0])
        host = body.get("ip") or hub.proxy.api_url.split("://")[1].rsplit(":", 1)[0]
        port = body.get("port") or hub.proxy.api_url.rsplit(":", 1)[1]
        hub.proxy.api_url = f"{scheme}://{host}:{port}"
    if "auth_token" in body:
        hub.proxy.auth_token = expect(body, "auth_token", str, "a string")
        await hub.proxy.close()  # the next request opens a client with the new token
    await hub.routes.check_routes()
    return Response(status_code=200)


ROUTES = [
    Route("/api/proxy", get_routes, methods=["GET"]),
    Route("/api/proxy", sync_routes, methods=["POST"]),
    Route("/api/proxy", new_proxy, methods=["PATCH"]),
]
