"""The `rest-api` plugin (essential): JupyterHub's REST API under /hub/api.

Each module holds one family of endpoints and exports its ``ROUTES``;
``base.py`` has what they share (JSON bodies, who may do what, models).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from kernel import hookimpl
from kernel.hub import Hub
from plugins.rest_api import root, servers


@hookimpl
def web_routes(hub: Hub) -> list[BaseRoute]:
    return [*root.ROUTES, *servers.ROUTES]
