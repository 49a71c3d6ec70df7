"""The `oauth-provider` plugin (essential): the hub as the OAuth2 provider of its servers.

``jupyterhub-singleuser`` (and every service with a URL) lets people in by
sending them to ``/hub/api/oauth2/authorize``, which checks they may use it
and answers with a code; the server exchanges the code at
``/hub/api/oauth2/token`` for an access token, as the single-user contract
says (``authorize.py`` and ``token.py``).
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from kernel import hookimpl
from kernel.hub import Hub
from plugins.oauth_provider.authorize import authorize
from plugins.oauth_provider.token import token


@hookimpl
def web_routes(hub: Hub) -> list[BaseRoute]:
    return [Route("/api/oauth2/authorize", authorize, methods=["GET", "POST"]),
            Route("/api/oauth2/token", token, methods=["POST"])]
