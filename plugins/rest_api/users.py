"""Users: list (paginated, filtered, sorted), create, read, change, delete; admin-access."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kernel import accounts
from kernel.errors import HubError
from kernel.hub import Hub
from kernel.scopes import Scopes
from kernel.users import User
from kernel.web.identity import hub_of
from plugins.rest_api.base import (
    Page,
    authorize,
    caller,
    can_see_user,
    expect,
    json_object,
    scopes_of,
    target_user,
    user_model,
)

#: The scopes that let a caller read a user (any one of them; see USER_FIELDS).
READ_USER_SCOPES = ("read:users", "read:users:name", "read:servers", "read:users:groups",
                    "read:users:activity", "read:roles:users")

SORT_KEYS = {"id", "name", "last_activity"}
STATES = {"active", "ready", "inactive"}


def _include_stopped(request: Request) -> bool:
    value = request.query_params.get("include_stopped_servers")
    return value is not None and value.lower() not in ("0", "false")


async def list_users(request: Request) -> Response:
    identity = await caller(request)
    hub = hub_of(request)
    scopes = scopes_of(request, identity)
    if not scopes.holds("list:users"):
        # A filtered list:users is fine: the list is filtered (_listable).
        authorize(request, identity, "list:users")
    users = _listable(hub, scopes, _candidates(hub, request.query_params.get("state")))
    name_filter = request.query_params.get("name_filter")
    if name_filter:
        needle = name_filter.lower()
        users = [u for u in users if needle in u.name.lower()]
    users = _sorted(users, request.query_params.get("sort", "id"))
    page = Page(request)
    include_stopped = _include_stopped(request)
    items = [user_model(hub, u, scopes, include_stopped=include_stopped)
             for u in page.slice(users)]
    return page.response(items, len(users))


def _candidates(hub: Hub, state: str | None) -> list[User]:
    """Users in a state, found without walking every user when possible."""
    if state is None:
        return list(hub.users)
    if state not in STATES:
        raise HubError(400, f"Unrecognized state filter {state!r}; use one of "
                            f"{', '.join(sorted(STATES))}")
    if state == "inactive":
        busy = {s.user.id for s in hub.lifecycle.active}
        return [u for u in hub.users if u.id not in busy]
    wanted = [s.user for s in hub.lifecycle.active if state == "active" or s.ready]
    return sorted(set(wanted), key=lambda u: u.id)


def _listable(hub: Hub, scopes: Scopes, users: list[User]) -> list[User]:
    filters = scopes.filters("list:users")
    if None in filters:
        return users
    if any(kind not in ("user", "group") for kind, _ in filter(None, filters)):
        raise HubError(403, "list:users can only be limited to users or groups")
    return [u for u in users if scopes.allows("list:users", user=u.name,
                                              groups_of=hub.permissions.groups_of)]


def _sorted(users: list[User], sort: str) -> list[User]:
    key = sort.lstrip("-")
    if key not in SORT_KEYS:
        raise HubError(400, f"Unrecognized sort key {sort!r}; use id, name or last_activity "
                            "(prefix - for descending)")
    descending = sort.startswith("-")
    if key == "id":
        return users[::-1] if descending else users  # the registry keeps creation order
    if key == "name":
        return sorted(users, key=lambda u: u.name, reverse=descending)
    # Users never active sort as the oldest.
    return sorted(users, key=lambda u: (u.last_activity is not None, u.last_activity or 0),
                  reverse=descending)


async def create_users(request: Request) -> Response:
    identity = await caller(request)
    hub = hub_of(request)
    scopes = authorize(request, identity, "admin:users")
    body = await json_object(request, allowed={"usernames", "admin"}, required=True)
    names = body.get("usernames")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise HubError(400, "usernames must be a non-empty list of names")
    rights = _rights(body)
    new = []
    for name in names:
        try:
            new.append(accounts.new_name(hub, name))
        except HubError as e:
            if e.status != 409:  # existing users are left out, as in JupyterHub
                raise
    new = list(dict.fromkeys(new))
    for name in new:
        accounts.check_rights(hub, scopes, name, rights)
    if not new:
        raise HubError(409, f"All {len(names)} users already exist")
    created = [await accounts.create_user(hub, name, admin=bool(rights.admin))
               for name in new]
    return JSONResponse([user_model(hub, u) for u in created], status_code=201)


def _rights(body: dict[str, Any]) -> accounts.Rights:
    """The admin flag, roles and groups a request body asks for (400 for wrong types)."""
    rights = accounts.Rights()
    if "admin" in body:
        rights.admin = expect(body, "admin", bool, "true or false")
    for key in ("roles", "groups"):
        if key in body:
            names = body[key]
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise HubError(400, f"{key} must be a list of {key[:-1]} names")
            setattr(rights, key, names)
    return rights


async def get_user(request: Request) -> Response:
    identity = await caller(request)
    hub = hub_of(request)
    name = request.path_params["name"]
    scopes = authorize(request, identity, *READ_USER_SCOPES, user=name)
    user = target_user(hub, name)
    if not can_see_user(hub, scopes, user):
        raise HubError(404, "No access to resources or resources not found")
    model = user_model(hub, user, scopes, include_stopped=_include_stopped(request))
    if "auth_state" in model:  # the caller holds admin:auth_state for this user
        model["auth_state"] = await hub.logins.auth_state(user)
    return JSONResponse(model)


async def create_user(request: Request) -> Response:
    identity = await caller(request)
    hub = hub_of(request)
    name = accounts.new_name(hub, request.path_params["name"])
    scopes = authorize(request, identity, "admin:users", user=name)
    body = await json_object(request, allowed={"admin", "groups", "roles", "auth_state"})
    _refuse_auth_state(body)
    rights = _rights(body)
    accounts.check_rights(hub, scopes, name, rights)
    user = await accounts.create_user(hub, name, admin=bool(rights.admin))
    await accounts.set_rights(hub, user, rights)
    return JSONResponse(user_model(hub, user), status_code=201)


async def change_user(request: Request) -> Response:
    identity = await caller(request)
    hub = hub_of(request)
    name = request.path_params["name"]
    scopes = authorize(request, identity, "admin:users", user=name)
    user = target_user(hub, name)
    body = await json_object(request, allowed={"name", "admin", "groups", "roles",
                                               "auth_state"}, required=True)
    if user.admin and not hub.permissions.is_admin(identity):
        raise HubError(403, "Only admins may change admins")
    _refuse_auth_state(body)
    rights = _rights(body)
    accounts.check_rights(hub, scopes, user.name, rights, user)
    if "name" in body:
        await accounts.rename_user(hub, user, expect(body, "name", str, "a string"))
    await accounts.set_rights(hub, user, rights)
    return JSONResponse(user_model(hub, user))


def _refuse_auth_state(body: dict[str, Any]) -> None:
    if "auth_state" in body:
        raise HubError(400, "auth_state is not stored by this version of kernelhub")


async def delete_user(request: Request) -> Response:
    identity = await caller(request)
    hub = hub_of(request)
    name = request.path_params["name"]
    authorize(request, identity, "delete:users", user=name)
    user = target_user(hub, name)
    if user is identity.user:
        raise HubError(400, "Cannot delete yourself")
    if user.admin and not hub.permissions.is_admin(identity):
        raise HubError(403, "Only admins may delete admins")
    await accounts.delete_user(hub, user)
    return Response(status_code=204)


async def admin_access(request: Request) -> Response:
    """Deprecated since JupyterHub 2: admin access comes from scopes now."""
    identity = await caller(request)
    hub = hub_of(request)
    name = request.path_params["name"]
    authorize(request, identity, "servers", user=name)
    if not hub.config.hub.admin_access:
        raise HubError(403, "admin_access is off")
    target_user(hub, name)
    return Response(status_code=200)


ROUTES = [
    Route("/api/users", list_users, methods=["GET"]),
    Route("/api/users", create_users, methods=["POST"]),
    Route("/api/users/{name}", get_user, methods=["GET"]),
    Route("/api/users/{name}", create_user, methods=["POST"]),
    Route("/api/users/{name}", change_user, methods=["PATCH"]),
    Route("/api/users/{name}", delete_user, methods=["DELETE"]),
    Route("/api/users/{name}/admin-access", admin_access, methods=["POST"]),
]
