"""What the API endpoints share: JSON bodies, who may do what, pagination, the models.

Authorization follows JupyterHub: an endpoint accepts any one of a list of
scopes; a caller without any of them gets 403, and a caller holding one only
for other resources gets 404, so that nobody learns what exists beyond
their reach. Models show only the fields the caller's scopes cover.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kernel.config import Option
from kernel.config.types import Integer
from kernel.errors import HubError
from kernel.hub import Hub
from kernel.scopes import Scopes
from kernel.urls import escape_path_segment
from kernel.users import Server, User
from kernel.web.identity import Identity, check_xsrf, hub_of, identify

PAGINATION_MEDIA_TYPE = "application/jupyterhub-pagination+json"
PAGE_DEFAULT_LIMIT = Option("hub", "api_page_default_limit", Integer(minimum=1), 50,
                            "How many items a paginated API list returns when the request asks "
                            "for pagination (Accept: application/jupyterhub-pagination+json) "
                            "without a limit.")
PAGE_MAX_LIMIT = Option("hub", "api_page_max_limit", Integer(minimum=1), 200,
                        "The most items one API list returns, whatever limit a request asks "
                        "for (also the default of unpaginated lists).")


def isoformat(when: datetime | None) -> str | None:
    """JupyterHub's timestamps: ISO 8601 in UTC with a Z."""
    if when is None:
        return None
    return when.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


async def json_body(request: Request) -> Any:
    """The request's JSON body; None when empty; 400 when it is not JSON.

    The Content-Type is not looked at, as in JupyterHub: ``curl -d`` sends
    JSON as a form, and token-authenticated clients rely on that. (A
    cookie-authenticated POST that is not JSON is refused in ``caller``.)
    """
    body = await request.body()
    if not body.strip():
        return None
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: JSON nested deeper than Python's parser goes.
        raise HubError(400, "Invalid JSON in body of request") from None


def _refuse_constant(name: str) -> NoReturn:
    """NaN, Infinity, -Infinity: Python reads them, JSON (RFC 8259) has no such values,
    and every number field would have to guard against them."""
    raise HubError(400, f"Invalid JSON in body of request: {name} is not a JSON value")


async def json_object(request: Request, *, allowed: set[str] | None = None,
                      required: bool = False) -> dict[str, Any]:
    """The body as a JSON object (empty if there is none and it is not required)."""
    body = await json_body(request)
    if body is None and not required:
        return {}
    if not isinstance(body, dict):
        raise HubError(400, "The request body must be a JSON object")
    if allowed is not None and body.keys() - allowed:
        unknown = ", ".join(sorted(body.keys() - allowed))
        raise HubError(400, f"Unknown fields in the request body: {unknown}")
    return body


def expect(body: dict[str, Any], key: str, kind: type | tuple[type, ...],
           description: str) -> Any:
    """``body[key]`` if it is of the expected type, else 400 naming the field."""
    value = body[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # JSON true is not a number, although Python's bool is an int.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise HubError(400, f"{key} must be {description}")
    return value


async def caller(request: Request) -> Identity:
    """The authenticated caller; 403 without credentials.

    Cookie-authenticated requests that change things must carry the XSRF
    token, and a cookie-authenticated POST with a non-JSON content type is
    refused (a form on another site cannot forge a JSON request).
    """
    # The body is not read before the caller is known: nobody without credentials makes the
    # hub hold a body. kernel.web.body_limit drops what is left of a small one unread, so
    # that the 403 is not lost to a reset connection on its way through the proxy.
    identity = await identify(request, services=True)
    if identity is None:
        raise HubError(403, "Missing or invalid credentials.")
    if identity.by_cookie:
        content_type = request.headers.get("content-type", "")
        if request.method == "POST" and content_type and "json" not in content_type:
            raise HubError(403, "Missing or invalid credentials.")
        if needs_xsrf_check(request):
            check_xsrf(request, None)
    return identity


def needs_xsrf_check(request: Request) -> bool:
    """JupyterHub's rule for cookie-authenticated requests: every change needs the XSRF
    token, and so does a read that a script made (``Sec-Fetch-Mode: cors``); page views,
    same-origin ``no-cors`` loads and old browsers that send no Sec-Fetch-Mode do not."""
    mode = request.headers.get("sec-fetch-mode", "unspecified")
    site = request.headers.get("sec-fetch-site", "unspecified")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        return True
    return not (mode in ("navigate", "unspecified", "websocket")
                or (mode == "no-cors" and site == "same-origin"))


def scopes_of(request: Request, identity: Identity) -> Scopes:
    return hub_of(request).permissions.scopes(identity)


def authorize(request: Request, identity: Identity, *needed: str, user: str | None = None,
              server: str | None = None, group: str | None = None,
              service: str | None = None) -> Scopes:
    """The caller's scopes, if any of ``needed`` covers the resource; else 403 or 404."""
    hub = hub_of(request)
    scopes = scopes_of(request, identity)
    for scope in needed:
        if scopes.allows(scope, user=user, server=server, group=group, service=service,
                         groups_of=hub.permissions.groups_of):
            return scopes
    if any(scopes.holds(scope) for scope in needed):
        raise HubError(404, "No access to resources or resources not found")
    raise HubError(403, f"Action is not authorized with current scopes; requires any of "
                        f"[{', '.join(needed)}]")


def target_user(hub: Hub, name: str) -> User:
    user = hub.users.get(name)
    if user is None:
        raise HubError(404, f"No such user: {name}")
    return user


# -- pagination ------------------------------------------------------------------


class Page:
    """offset/limit from the query, JupyterHub's way: a bare list, or items + _pagination."""

    def __init__(self, request: Request, *, always_paginated: bool = False) -> None:
        self.request = request
        self.paginated = (always_paginated
                          or PAGINATION_MEDIA_TYPE in request.headers.get("accept", ""))
        # Share lists are paginated whatever the Accept header says, but their default
        # limit still follows it, as in JupyterHub.
        asked = PAGINATION_MEDIA_TYPE in request.headers.get("accept", "")
        self.offset = self._number("offset", 0)
        config = hub_of(request).config
        limit = self._number("limit", config[PAGE_DEFAULT_LIMIT] if asked
                             else config[PAGE_MAX_LIMIT])
        self.limit = max(1, min(limit, config[PAGE_MAX_LIMIT]))

    def _number(self, name: str, default: int) -> int:
        raw = self.request.query_params.get(name)
        if raw is None:
            return default
        try:
            # JupyterHub takes the absolute value: offset=-5 is offset=5.
            return abs(int(raw))
        except ValueError:
            raise HubError(400, "Invalid argument type, offset and limit must be "
                                f"integers ({name}={raw!r})") from None

    def response(self, items: Any, total: int) -> Response:
        """JSON for one page of ``items`` (already sliced) out of ``total``."""
        if not self.paginated:
            return JSONResponse(items)
        following = self.offset + self.limit
        next_page = None
        if following < total:
            query = dict(self.request.query_params)
            query.update(offset=str(following), limit=str(self.limit))
            url = str(self.request.url.replace(query=urlencode(query)))
            next_page = {"offset": following, "limit": self.limit, "url": url}
        return JSONResponse({"items": items, "_pagination": {
            "offset": self.offset, "limit": self.limit, "total": total, "next": next_page}})

    def slice(self, items: list[Any]) -> list[Any]:
        return items[self.offset:self.offset + self.limit]


# -- models ------------------------------------------------------------------------


def server_model(hub: Hub, server: Server, *, with_state: bool = False) -> dict[str, Any]:
    link = server.link(hub.urls)
    api_user = f"{hub.urls.hub_prefix}api/users/{escape_path_segment(server.user.name)}"
    progress = (f"{api_user}/servers/{escape_path_segment(server.name)}/progress"
                if server.name else f"{api_user}/server/progress")
    model = {
        "name": server.name,
        "display_name": server.display_name or server.name,
        "full_name": server.full_name,
        "last_activity": isoformat(server.last_activity),
        "started": isoformat(server.started),
        "pending": server.pending,
        "ready": server.ready,
        "stopped": not server.active,
        "url": link,
        # A start resolves "no options" to {}; a stopped server shows what was stored.
        "user_options": server.user_options if not server.active else server.user_options or {},
        "progress_url": progress,
        "full_url": link if "://" in link else None,  # with subdomains, as JupyterHub
        "full_progress_url": None,
    }
    if with_state:
        model["state"] = server.state
    return model


#: Which fields of the user model each scope reveals (JupyterHub's model filtering).
USER_FIELDS = {
    "read:users": ("kind", "name", "user_info", "admin", "roles", "groups", "server",
                   "pending", "created", "last_activity"),
    "read:users:name": ("kind", "name", "user_info", "admin"),
    "read:users:groups": ("kind", "name", "groups"),
    "read:users:activity": ("kind", "name", "last_activity"),
    "read:servers": ("kind", "name", "servers"),
    "read:roles:users": ("kind", "name", "roles", "admin"),
    "admin:auth_state": ("kind", "name", "auth_state"),
}


def user_model(hub: Hub, user: User, scopes: Scopes | None = None, *,
               include_stopped: bool = False) -> dict[str, Any]:
    """The user model; with ``scopes``, only the fields they cover for this user."""
    default = user.server("")
    servers = user.servers.values() if include_stopped else user.running_servers
    if scopes is not None:
        # A server filter (read:servers!server=alice/gpu) shows just that server.
        servers = [s for s in servers if scopes.allows(
            "read:servers", server=s.full_name, groups_of=hub.permissions.groups_of)]
    full = {
        "kind": "user",
        "name": user.name,
        "admin": user.admin,
        "roles": sorted(hub.permissions.role_names(user)),
        "groups": sorted(user.groups),
        "server": default.link(hub.urls) if default and default.ready else None,
        "pending": default.pending if default else None,
        "created": isoformat(user.created),
        "last_activity": isoformat(user.last_activity),
        "servers": {s.name: server_model(hub, s, with_state=_with_state(hub, scopes, s))
                    for s in servers},
        "user_info": user.user_info or None,  # JupyterHub sends null, not {}
        # Filled in (decrypted) by GET /users/NAME alone, as in JupyterHub.
        "auth_state": None,
    }
    if scopes is None:
        return full
    fields: set[str] = set()
    for scope, visible in USER_FIELDS.items():
        if _covers(hub, scopes, scope, user):
            fields.update(visible)
    if full["servers"]:
        fields.add("servers")
    return {key: value for key, value in full.items() if key in fields}


def _with_state(hub: Hub, scopes: Scopes | None, server: Server) -> bool:
    return scopes is None or scopes.allows("admin:server_state", server=server.full_name,
                                           groups_of=hub.permissions.groups_of)


def _covers(hub: Hub, scopes: Scopes, scope: str, user: User) -> bool:
    return scopes.allows(scope, user=user.name, groups_of=hub.permissions.groups_of)


def can_see_user(hub: Hub, scopes: Scopes, user: User) -> bool:
    return any(_covers(hub, scopes, scope, user) for scope in USER_FIELDS)
