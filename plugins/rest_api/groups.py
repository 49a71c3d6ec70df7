"""Groups: list, create, read, delete; their members and properties."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kernel.auth import username_problem
from kernel.errors import HubError
from kernel.groups import Group
from kernel.hub import Hub
from kernel.scopes import Scopes
from kernel.users import User
from kernel.web.identity import hub_of
from plugins.rest_api.base import Page, authorize, caller, json_object, scopes_of

#: Which fields of the group model each scope reveals.
GROUP_FIELDS = {
    "read:groups": ("kind", "name", "users", "properties"),
    "read:groups:name": ("kind", "name"),
    "read:roles:groups": ("kind", "name", "roles"),
}


def group_model(hub: Hub, group: Group, scopes: Scopes | None = None) -> dict[str, Any]:
    full = {
        "kind": "group",
        "name": group.name,
        "users": sorted(group.members),
        "properties": group.properties,
        "roles": sorted(hub.permissions.group_role_names(group.id)),
    }
    if scopes is None:
        return full
    fields: set[str] = set()
    for scope, visible in GROUP_FIELDS.items():
        if scopes.allows(scope, group=group.name):
            fields.update(visible)
    return {key: value for key, value in full.items() if key in fields}


def _group(hub: Hub, name: str) -> Group:
    group = hub.groups.get(name)
    if group is None:
        raise HubError(404, f"No such group: {name}")
    return group


def _check_group_name(hub: Hub, name: object) -> str:
    if not isinstance(name, str):
        raise HubError(400, "A group name must be a string")
    problem = username_problem(hub, name.lower())
    if problem and "username_pattern" not in problem:
        raise HubError(400, f"Invalid group name {name!r}: {problem.replace('user', 'group')}")
    if hub.groups.get(name) is not None:
        raise HubError(409, f"Group {name} already exists")
    return name


def _users(hub: Hub, body: dict[str, Any], *, required: bool) -> list[User]:
    names = body.get("users")
    if names is None and not required:
        return []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise HubError(400, "users must be a list of user names")
    users = []
    for name in names:
        user = hub.users.get(name)
        if user is None:
            raise HubError(400, f"No such user: {name}")
        users.append(user)
    return users


async def list_groups(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    scopes = scopes_of(request, identity)
    if not scopes.holds("list:groups"):
        authorize(request, identity, "list:groups")
    filters = scopes.filters("list:groups")
    if None not in filters and any(kind != "group" for kind, _ in filter(None, filters)):
        raise HubError(403, "list:groups can only be limited to groups")
    # A filtered list:groups lists just those groups.
    groups = [g for g in hub.groups if scopes.allows("list:groups", group=g.name)]
    page = Page(request)
    return page.response([group_model(hub, g, scopes) for g in page.slice(groups)], len(groups))


async def create_groups(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    authorize(request, identity, "admin:groups")
    body = await json_object(request, allowed={"groups", "users"}, required=True)
    names = body.get("groups")
    if not isinstance(names, list) or not names:
        raise HubError(400, "groups must be a non-empty list of group names")
    names = [_check_group_name(hub, n) for n in dict.fromkeys(names)]
    members = _users(hub, body, required=False)
    created = [await hub.groups.add(name, members) for name in names]
    hub.permissions.changed()
    return JSONResponse([group_model(hub, g) for g in created], status_code=201)


async def get_group(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    name = request.path_params["name"]
    scopes = authorize(request, identity, *GROUP_FIELDS, group=name)
    return JSONResponse(group_model(hub, _group(hub, name), scopes))


async def create_group(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    name = request.path_params["name"]
    authorize(request, identity, "admin:groups", group=name)
    body = await json_object(request, allowed={"users"})
    members = _users(hub, body, required=False)
    group = await hub.groups.add(_check_group_name(hub, name), members)
    hub.permissions.changed()
    return JSONResponse(group_model(hub, group), status_code=201)


async def delete_group(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    name = request.path_params["name"]
    authorize(request, identity, "delete:groups", group=name)
    await hub.groups.delete(_group(hub, name))
    await hub.hooks.resource_deleted(group=name)
    hub.permissions.changed()
    return Response(status_code=204)


async def add_members(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    name = request.path_params["name"]
    scopes = authorize(request, identity, "groups", group=name)
    group = _group(hub, name)
    body = await json_object(request, allowed={"users"}, required=True)
    users = _users(hub, body, required=True)
    for user in users:
        if group.name not in user.groups:
            # Membership gives the group's roles and shares: only to those who hold them.
            hub.permissions.check_grant(scopes, user.name, groups=[group.name])
    await hub.groups.add_members(group, users)
    hub.permissions.changed()
    return JSONResponse(group_model(hub, group))


async def remove_members(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    name = request.path_params["name"]
    authorize(request, identity, "groups", group=name)
    group = _group(hub, name)
    body = await json_object(request, allowed={"users"}, required=True)
    await hub.groups.remove_members(group, _users(hub, body, required=True))
    hub.permissions.changed()
    return JSONResponse(group_model(hub, group))


async def set_properties(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    name = request.path_params["name"]
    authorize(request, identity, "groups", group=name)
    group = _group(hub, name)
    body = await json_object(request, required=True)
    await hub.groups.set_properties(group, body)
    return JSONResponse(group_model(hub, group))


ROUTES = [
    Route("/api/groups", list_groups, methods=["GET"]),
    Route("/api/groups", create_groups, methods=["POST"]),
    Route("/api/groups/{name}", get_group, methods=["GET"]),
    Route("/api/groups/{name}", create_group, methods=["POST"]),
    Route("/api/groups/{name}", delete_group, methods=["DELETE"]),
    Route("/api/groups/{name}/users", add_members, methods=["POST"]),
    Route("/api/groups/{name}/users", remove_members, methods=["DELETE"]),
    Route("/api/groups/{name}/properties", set_properties, methods=["PUT"]),
]
