"""kernelhub-hello: ``GET /hub/api/hello`` greets whoever sent the request."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kernel.api import Hub, HubError, Option, OptionRegistry, Text, hookimpl, hub_of, identify

GREETING = Option("hello", "greeting", Text(), "Hello", "What the hub greets people with.")


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.declare(GREETING)


async def hello(request: Request) -> Response:
    identity = await identify(request)
    if identity is None:
        raise HubError(403, "Log in or send a token to be greeted")
    return JSONResponse({"greeting": f"{hub_of(request).config[GREETING]}, {identity.name}!"})


@hookimpl
def web_routes(hub: Hub) -> list[Route]:
    return [Route("/api/hello", hello)]
