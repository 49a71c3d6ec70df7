"""The `pages` plugin (essential): the hub's HTML pages and its default redirects.

Login and logout (``login.py``); the pages around a user's servers: home,
spawn, spawn-pending, not-running, ``/user-redirect/`` and the error pages
the proxy shows (``servers.py``); tokens (``tokens.py``); the admin pages
(``admin.py``). Other plugins add pages through ``web_routes`` and
variables to these through ``extra_template_vars`` (as ``sharing`` does). The
templates are in the hub's ``templates/`` folder, overridable through
``[hub] template_paths``; the pages' scripts call the REST API.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import BaseRoute

from kernel import hookimpl
from kernel.config import OptionRegistry
from kernel.config.types import Number, Text
from kernel.hub import Hub
from kernel.users import User
from plugins.pages import admin, login, servers, tokens


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.add("hub", "implicit_spawn_seconds", Number(minimum=0), 0.0,
                "On the page saying a server is not running, start it after this many "
                "seconds as if Start was pressed. 0: wait for the button.")
    options.add("auth", "login_service", Text(), "",
                "The name of an external login service (e.g. GitHub): the login page then "
                "shows a 'Sign in with ...' button leading to [auth] login_url instead of "
                "the password form.")
    options.add("auth", "login_url", Text(), "",
                "Where a login with the external service starts: a path under the hub "
                "(e.g. oauth_login, served by the authenticator plugin) or a full URL.")


@hookimpl
def web_routes(hub: Hub) -> list[BaseRoute]:
    return [*login.ROUTES, *servers.ROUTES, *tokens.ROUTES, *admin.ROUTES]


@hookimpl(trylast=True)
def redirect(hub: Hub, request: Request, user: User | None, reason: str, path: str) -> str:
    """JupyterHub's defaults, used when no other plugin decides."""
    return servers.default_redirect(hub, user, reason, path)
