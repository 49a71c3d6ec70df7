"""The token page: create API tokens (note, expiry, scopes), see when each was last used,
revoke them, and revoke what applications were authorized to do.

The page is a shell: its script lists, creates and revokes tokens through the
REST API (``/hub/api/users/NAME/tokens``), so anything it does can be scripted.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kernel.scopes import all_definitions
from kernel.web.identity import hub_of
from plugins.pages.base import logged_in, render

#: The expiry choices the form offers, in seconds (None: never).
EXPIRY_CHOICES = (("1 hour", 3600), ("1 day", 86_400), ("1 week", 604_800),
                  ("30 days", 2_592_000), ("1 year", 31_536_000), ("Never", None))


async def token_page(request: Request) -> Response:
    identity = await logged_in(request)
    if isinstance(identity, Response):
        return identity
    hub = hub_of(request)
    held = hub.permissions.scopes(identity).as_list()
    return render(request, "token.html", nav_current="token", expiry_choices=EXPIRY_CHOICES,
                  held_scopes=held,
                  scope_help={name: text for name, (text, _) in all_definitions().items()})


ROUTES = [Route("/token", token_page, methods=["GET"])]
