"""What every page shares: rendering with the navigation's context, and who may see a page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kernel.errors import HubError
from kernel.web.identity import Identity, UserIdentity, hub_of, identify
from kernel.web.renderer import PAGE_RENDERER


def render(request: Request, name: str, status_code: int = 200,
           **context: Any) -> Response:
    """Render a page, with what plugins add to it (the ``extra_template_vars`` hook; the
    page's own variables win); its templates may format times with ``iso``."""
    hub = hub_of(request)
    identity = getattr(request.state, "identity", None)
    user = identity.user if identity is not None else None
    extra = hub.hooks.extra_template_vars(request=request, template=name, user=user)
    return hub.stash[PAGE_RENDERER].render(request, name, status_code=status_code,
                                           iso=isoformat, **{**extra, **context})


def isoformat(when: datetime | None) -> str:
    """A timestamp as the REST API writes it (UTC, ending in Z); empty for None."""
    if when is None:
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


async def logged_in(request: Request) -> UserIdentity | Response:
    """The logged-in caller, or a redirect to the login page that comes back here."""
    identity = await identify(request)
    if identity is not None:
        return identity
    hub = hub_of(request)
    next_url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{hub.urls.hub_prefix}login?{urlencode({'next': next_url})}",
                            status_code=302)


def require(request: Request, identity: Identity, scope: str, **resource: str) -> None:
    """403 unless the caller holds ``scope`` (for the resource, when one is named)."""
    hub = hub_of(request)
    if not hub.permissions.scopes(identity).allows(scope, groups_of=hub.permissions.groups_of,
                                                   **resource):
        raise HubError(403, f"{identity.name} may not see this page (it needs the "
                            f"{scope} scope)")
