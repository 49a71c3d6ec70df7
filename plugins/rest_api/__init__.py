"""The `rest-api` plugin (essential): JupyterHub's REST API under /hub/api.

Each module holds one family of endpoints and exports its ``ROUTES``;
``base.py`` has what they share (JSON bodies, authorization by scope,
pagination, the models).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from kernel import hookimpl
from kernel.hub import Hub
from plugins.rest_api import (
    activity,
    authorizations,
    groups,
    proxy,
    root,
    servers,
    services,
    shares,
    tokens,
    users,
)


@hookimpl
def web_routes(hub: Hub) -> list[BaseRoute]:
    return [*root.ROUTES, *users.ROUTES, *servers.ROUTES, *activity.ROUTES, *tokens.ROUTES,
            *groups.ROUTES, *services.ROUTES, *shares.ROUTES, *proxy.ROUTES,
            *authorizations.ROUTES]
