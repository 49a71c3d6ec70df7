"""Assembling the hub's starlette app from the plugins' routes and middleware, once.

Plugin routes are mounted under the hub prefix (``{base_url}hub/``). The
kernel adds only what every hub needs whatever its plugins: the CSP report
endpoint, and the redirect of paths outside the hub prefix into it (a visit
to ``/user/alice/`` while alice's server is not running reaches the hub,
which sends it on to ``/hub/user/alice/``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router

from kernel.errors import HubError
from kernel.hub import Hub
from kernel.web.body_limit import BodyLimit
from kernel.web.errors import EXCEPTION_HANDLERS
from kernel.web.identity import hub_of
from kernel.web.middleware import AccessLog, HubHeaders
from kernel.web.overload import Overload

log = logging.getLogger("kernelhub.web")


def build_app(hub: Hub) -> Starlette:
    """The hub's ASGI app; its lifespan starts and stops the hub."""
    plugin_routes = hub.hooks.web_routes()
    plugin_middleware = hub.hooks.web_middleware()

    hub_mount = hub.urls.hub_prefix.rstrip("/")
    hub_routes: list[BaseRoute] = [
        *plugin_routes,
        Route("/security/csp-report", csp_report, methods=["POST"]),
    ]
    routes: list[BaseRoute] = [
        # No slash-adding redirects under /hub: an API path with a slash too many is a 404,
        # as in JupyterHub, not a redirect that clients would follow blindly.
        Mount(hub_mount, app=Router(hub_routes, redirect_slashes=False)),
        Route("/{path:path}", into_hub_prefix,
              methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            await hub.start()
        except Exception as e:
            # Undo what did start, and keep the reason for `kernel serve` to report.
            app.state.startup_error = e
            await hub.stop()
            raise
        try:
            yield
        finally:
            await hub.stop()

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(AccessLog, hub=hub),
            Middleware(HubHeaders, hub=hub),
            # Inside the access log, so that shed requests are logged and measured too.
            Middleware(Overload, hub=hub),
            # Before anything that might read a body, so that every endpoint has a limit.
            Middleware(BodyLimit, hub=hub),
            *plugin_middleware,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.hub = hub
    return app


async def csp_report(request: Request) -> Response:
    """Browsers report Content-Security-Policy violations here (the CSP's report-uri)."""
    hub = hub_of(request)
    body = await request.body()
    log.warning("Content-Security-Policy report from %s: %s", hub.client_address(request),
                body[:2000].decode("utf-8", "replace"))
    hub.measure("csp_reports", "counter", 1)
    return Response(status_code=204)


async def into_hub_prefix(request: Request) -> Response:
    """``/x`` -> ``/hub/x``: the hub answers every path the proxy sends it.

    With subdomains the redirect goes to the hub's own host: a visit to a stopped
    server arrives on the user's host, where the hub's cookies are not sent.
    """
    hub = hub_of(request)
    path = request.url.path
    if path.startswith(hub.urls.hub_prefix) or path + "/" == hub.urls.hub_prefix:
        if path + "/" == hub.urls.hub_prefix:
            return RedirectResponse(hub.urls.hub_prefix + _query(request), status_code=302)
        raise HubError(404, f"{path} is not a page of this hub")
    relative = path[len(hub.urls.base_url):] if path.startswith(hub.urls.base_url) else \
        path.lstrip("/")
    return RedirectResponse(hub.urls.subdomain_host + hub.urls.hub_prefix + relative
                            + _query(request), status_code=302)


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""
