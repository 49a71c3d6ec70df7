"""The `pages` plugin (essential): the hub's HTML pages and its default redirects.

Login and logout (``login.py``); the pages around a user's servers: home,
spawn, spawn-pending, not-running, ``/user-redirect/`` and the error pages
the proxy shows (``servers.py``); tokens (``tokens.py``); the admin pages
(``admin.py``). Other plugins add pages through ``web_routes`` and
variables to these through ``extra_template_vars`` (as ``sharing`` does). The
templates are in the hub's ``templates/`` folder, overridable through
``[hub] template_paths``, rendered by ``templates.py``, which also serves
the static files and the logo; the pages' scripts call the REST API.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import BaseRoute

from kernel import hookimpl
from kernel.config import OptionRegistry
from kernel.hub import Hub
from kernel.users import User
from kernel.web.renderer import PAGE_RENDERER
from plugins.pages import admin, login, servers, tokens
from plugins.pages.options import declare_page_options
from plugins.pages.templates import Templates


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    declare_page_options(options)


@hookimpl
def web_routes(hub: Hub) -> list[BaseRoute]:
    # The renderer is built with the app, so templates cost nothing in a hub without pages.
    templates = hub.stash[PAGE_RENDERER] = Templates(hub)
    return [*login.ROUTES, *servers.ROUTES, *tokens.ROUTES, *admin.ROUTES,
            *templates.routes()]


@hookimpl(trylast=True)
def redirect(hub: Hub, request: Request, user: User | None, reason: str, path: str) -> str:
    """JupyterHub's defaults, used when no other plugin decides."""
    return servers.default_redirect(hub, user, reason, path)
