"""The `rest-api` plugin (essential): JupyterHub's REST API under /hub/api.

Each module holds one family of endpoints and exports its ``ROUTES``;
``base.py`` has what they share (JSON bodies, authorization by scope,
pagination, the models).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from kernel import hookimpl
from kernel.config.options import OptionRegistry
from kernel.config.types import Integer
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


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.add("hub", "api_page_default_limit", Integer(minimum=1), 50,
                "How many items a paginated API list returns when the request asks for "
                "pagination (Accept: application/jupyterhub-pagination+json) without a "
                "limit.")
    options.add("hub", "api_page_max_limit", Integer(minimum=1), 200,
                "The most items one API list returns, whatever limit a request asks for "
                "(also the default of unpaginated lists).")


@hookimpl
def web_routes(hub: Hub) -> list[BaseRoute]:
    return [*root.ROUTES, *users.ROUTES, *servers.ROUTES, *activity.ROUTES, *tokens.ROUTES,
            *groups.ROUTES, *services.ROUTES, *proxy.ROUTES,
            *authorizations.ROUTES]
