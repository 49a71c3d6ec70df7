"""The `rest-api` plugin (essential): JupyterHub's REST API under /hub/api.

Each module holds one family of endpoints and exports its ``ROUTES``;
``base.py`` has what they share (JSON bodies, authorization by scope,
pagination, the models).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from kernel import hookimpl
from kernel.config.options import OptionRegistry
from kernel.hub import Hub
from plugins.rest_api import (
    activity,
    authorizations,
    groups,
    proxy,
    root,
    servers,
    services,
    tokens,
    users,
)
from plugins.rest_api.base import PAGE_DEFAULT_LIMIT, PAGE_MAX_LIMIT


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.declare(PAGE_DEFAULT_LIMIT, PAGE_MAX_LIMIT)


@hookimpl
def web_routes(hub: Hub) -> list[BaseRoute]:
    return [*root.ROUTES, *users.ROUTES, *servers.ROUTES, *activity.ROUTES, *tokens.ROUTES,
            *groups.ROUTES, *services.ROUTES, *proxy.ROUTES,
            *authorizations.ROUTES]
