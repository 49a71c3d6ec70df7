"""Sharing pages: share a server with users and groups or through a share link, and accept
a share link.

The share page is a shell whose script calls the sharing REST API
(``/hub/api/shares/...`` and ``/hub/api/share-codes/...``). The accept page
is a plain form: it shows what a code would give before the person takes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from kernel.api import utcnow
from kernel.errors import HubError
from kernel.hub import Hub
from kernel.scopes import all_definitions
from kernel.security.next_url import safe_next_url
from kernel.security.tokens import digest_code
from kernel.urls import escape_path_segment
from kernel.users import Server
from kernel.web.identity import check_xsrf, hub_of
from plugins.pages.base import logged_in, render
from plugins.sharing.models import ShareCode
from plugins.sharing.registry import shares_of

#: The lifetimes offered for a new share link, in seconds (JupyterHub allows 60 s to a year).
CODE_EXPIRY_CHOICES = (("1 hour", 3600), ("1 day", 86_400), ("1 week", 604_800),
                       ("30 days", 2_592_000))


async def share_page(request: Request) -> Response:
    identity = await logged_in(request)
    if isinstance(identity, Response):
        return identity
    hub = hub_of(request)
    owner_name = request.path_params["owner"]
    server_name = request.path_params.get("server_name", "")
    full_name = f"{owner_name}/{server_name}"
    scopes = hub.permissions.scopes(identity)
    groups_of = hub.permissions.groups_of
    if not scopes.allows("read:shares", server=full_name, groups_of=groups_of):
        raise HubError(404 if scopes.holds("read:shares") else 403,
                       f"{identity.user.name} may not see who {full_name} is shared with")
    owner = hub.users.get(owner_name)
    if owner is None or (server_name and owner.server(server_name) is None):
        raise HubError(404, f"No such server: {full_name}")
    server = owner.server(server_name) or Server(user=owner, name="", id=0)
    api_path = f"{escape_path_segment(owner_name)}/{escape_path_segment(server_name)}"
    return render(request, "share.html", nav_current="home", server=server,
                  api_path=api_path, code_expiry_choices=CODE_EXPIRY_CHOICES,
                  can_share=scopes.allows("shares", server=full_name, groups_of=groups_of),
                  server_url=server.link(hub.urls))


@dataclass
class PendingShare:
    """What a share code would give, shown before it is accepted."""

    server: Server
    scopes: list[str]
    expires_at: datetime | None


async def _pending_share(hub: Hub, code: str) -> PendingShare:
    row = await hub.db.run(ShareCode.get_or_none,
                           ShareCode.code_hash == digest_code(code)) if code else None
    if row is None or (row.expires_at is not None and row.expires_at <= utcnow()):
        raise HubError(404, "This share link is not valid: it may have expired or been "
                            "revoked. Ask for a new one.")
    server = next((s for u in hub.users for s in u.servers.values() if s.id == row.server_id),
                  None)
    if server is None:
        raise HubError(404, "The shared server no longer exists")
    return PendingShare(server, list(row.scopes), row.expires_at)


async def accept_share_page(request: Request) -> Response:
    identity = await logged_in(request)
    if isinstance(identity, Response):
        return identity
    hub = hub_of(request)
    code = request.query_params.get("code", "")
    pending = await _pending_share(hub, code)
    next_url = safe_next_url(request.query_params.get("next"), hub.urls.base_url) or ""
    server = pending.server
    scope_help = {name: text for name, (text, _) in all_definitions().items()}
    return render(request, "accept-share.html", code=code, pending=pending, next=next_url,
                  own=server.user is identity.user, scope_help=scope_help,
                  server_url=server.link(hub.urls),
                  # JupyterHub's names, for accept-share.html written for it.
                  owner=server.user, spawner=server, spawner_ready=server.ready,
                  spawner_url=server.link(hub.urls), next_url=next_url or server.link(hub.urls),
                  scope_descriptions=[
                      {"scope": scope, "description": scope_help.get(scope.split("!")[0], scope),
                       "filter": scope.partition("!")[2]} for scope in pending.scopes])


async def accept_share(request: Request) -> Response:
    identity = await logged_in(request)
    if isinstance(identity, Response):
        return identity
    hub = hub_of(request)
    form = await request.form()
    check_xsrf(request, form.get("_xsrf"))
    code = str(form.get("code") or request.query_params.get("code") or "")
    pending = await _pending_share(hub, code)
    share = await shares_of(hub).exchange_code(code, identity.user.id)
    # exchange_code grants the share but leaves the cached permissions alone.
    hub.permissions.changed()
    hub.emit("share.accepted", user=identity.user.name, server=share.server.full_name)
    target = safe_next_url(str(form.get("next") or ""), hub.urls.base_url)
    if not target:
        target = (pending.server.link(hub.urls) if pending.server.ready
                  else f"{hub.urls.hub_prefix}home")
    return RedirectResponse(target, status_code=302)


ROUTES = [
    Route("/share/{owner}", share_page, methods=["GET"]),
    Route("/share/{owner}/{server_name}", share_page, methods=["GET"]),
    Route("/accept-share", accept_share_page, methods=["GET"]),
    Route("/accept-share", accept_share, methods=["POST"]),
]
