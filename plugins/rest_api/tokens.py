"""API tokens: list, create (with a note, an expiry and scopes), read and revoke."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kernel.errors import HubError
from kernel.hub import Hub
from kernel.scopes import Owner, ScopeError, check
from kernel.tokens import MAX_TOKEN_LIFETIME, TokenRecord
from kernel.users import User
from kernel.web.identity import Identity, UserIdentity, check_xsrf, hub_of, identify
from plugins.rest_api.base import (
    authorize,
    caller,
    expect,
    isoformat,
    json_object,
    target_user,
)


def token_model(hub: Hub, token: TokenRecord, owner: User) -> dict[str, Any]:
    # What the token may do now, as JupyterHub lists it: its scopes expanded, limited
    # to its owner's (an `inherit` token lists all of the owner's).
    info = token.info
    scopes = hub.permissions.token_scopes(info, owner).as_list()
    return {
        "id": f"a{info.id}",
        "kind": "api_token",
        "user": owner.name,
        "roles": [],
        "scopes": scopes,
        "note": info.note,
        "created": isoformat(token.created),
        "last_activity": isoformat(token.last_activity),
        "expires_at": isoformat(info.expires_at),
        "session_id": info.session_id,
        # The client's description ("Server at /user/alice/"), as JupyterHub shows it.
        "oauth_client": "JupyterHub" if token.oauth_client is None else token.oauth_client,
    }


async def list_tokens(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    name = request.path_params["name"]
    authorize(request, identity, "read:tokens", user=name)
    user = target_user(hub, name)
    tokens = await hub.tokens.of_user(user.id)
    return JSONResponse({"api_tokens": [token_model(hub, t, user) for t in tokens]})


async def create_token(request: Request) -> Response:
    hub = hub_of(request)
    name = request.path_params["name"]
    identity = await identify(request, services=True)
    if identity is None:
        _check_login_body_size(request)
    body = await json_object(request, allowed={"note", "expires_in", "scopes", "roles", "auth"})
    identity = await _token_creator(request, identity, body)
    user = hub.users.get(name)
    may_issue = hub.permissions.scopes(identity).allows(
        "tokens", user=name, groups_of=hub.permissions.groups_of)
    if user is None or not may_issue:
        # One answer for both, as JupyterHub gives: nobody learns who exists.
        raise HubError(403, f"User {name} not found or no permissions to generate tokens")
    note = expect(body, "note", str, "a string") if body.get("note") else ""
    expires_in = body.get("expires_in")
    if expires_in is not None:
        # Whole seconds, at least one, as JupyterHub 6.1.1 takes them: 0 is not "never"
        # (that is null), and a token must not expire before it can be used.
        expires_in = expect(body, "expires_in", int, "null or a whole number of seconds")
        if expires_in < 1:
            raise HubError(400, "expires_in must be a positive integer or null")
        # Nor past a date the database can store.
        if expires_in > MAX_TOKEN_LIFETIME:
            raise HubError(400, f"expires_in must be a number of seconds up to "
                                f"{MAX_TOKEN_LIFETIME} (100 years)")
    scopes = _requested_scopes(hub, body)
    _check_held(hub, user, scopes)
    if not note:
        note = "Requested via api" + (f" by {identity.kind} {identity.name}"
                                      if identity.user is not user else "")
    token, row = await hub.tokens.issue(user_id=user.id, scopes=scopes, note=note,
                                        expires_in=expires_in)
    model = token_model(hub, TokenRecord.from_row(row), user)
    model["token"] = token
    return JSONResponse(model, status_code=201)


def _check_login_body_size(request: Request) -> None:
    """A caller without credentials may only log in with the `auth` field: its body is a
    login form's, held to the login form's limit rather than the API's (413), and must say
    its length (411), so that nobody unknown makes the hub hold a large body."""
    limit = hub_of(request).config.hub.max_form_body_size
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise HubError(411, "Give a Content-Length to log in with the auth field, or "
                            "authenticate with a token")
    if int(length) > limit:
        raise HubError(413, f"Request body too large to log in with: the limit is {limit} "
                            "bytes ([hub] max_form_body_size)")


async def _token_creator(request: Request, identity: Identity | None,
                         body: dict[str, Any]) -> Identity:
    """The caller, who may instead log in with the `auth` field (username and password)."""
    if identity is None:
        auth = body.get("auth")
        if not isinstance(auth, dict):
            raise HubError(403, "Missing or invalid credentials.")
        user = await hub_of(request).logins.login(
            request, {k: str(v) for k, v in auth.items() if isinstance(v, str)})
        if user is None:
            raise HubError(403, "Missing or invalid credentials.")
        return UserIdentity(user=user)
    if identity.by_cookie:
        check_xsrf(request, None)
    return identity


def _requested_scopes(hub: Hub, body: dict[str, Any]) -> list[str]:
    if body.get("scopes") is not None and body.get("roles") is not None:
        raise HubError(400, "Give scopes or roles, not both")
    if body.get("roles") is not None:
        roles = expect(body, "roles", list, "a list of role names")
        unknown = [r for r in roles if not isinstance(r, str) or not hub.permissions.has_role(r)]
        if unknown:
            raise HubError(400, f"No such role: {', '.join(map(str, unknown))}")
        return [scope for r in roles for scope in hub.permissions.role_scopes(r)]
    if body.get("scopes") is None:
        # The `token` role: by default `inherit`, everything the owner may do.
        return hub.permissions.role_scopes("token")
    scopes = expect(body, "scopes", list, "a list of scopes")
    if not all(isinstance(s, str) for s in scopes):
        raise HubError(400, "scopes must be a list of strings")
    try:
        return check(scopes)
    except ScopeError as e:
        raise HubError(400, str(e)) from None


def _check_held(hub: Hub, owner: User, scopes: list[str]) -> None:
    """400 for a scope the token's owner does not hold: a token cannot grant more.

    As in JupyterHub, only the owner's scopes count: whoever may issue the owner's
    tokens could as well issue one with all of the owner's permissions (the default).
    """
    missing = hub.permissions.not_held(hub.permissions.user_scopes(owner), scopes,
                                       Owner(user=owner.name))
    if missing:
        raise HubError(400, f"Not assigning requested scopes {', '.join(missing)}: not held "
                            f"by {owner.name}")


async def _owned_token(hub: Hub, user: User, token_id: str) -> TokenRecord:
    number = token_id[1:] if token_id.startswith("a") else ""
    token = await hub.tokens.get(int(number)) if number.isdigit() else None
    if token is None or token.info.user_id != user.id:
        raise HubError(404, f"No such token: {token_id}")
    return token


async def get_token(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    name = request.path_params["name"]
    authorize(request, identity, "read:tokens", user=name)
    user = target_user(hub, name)
    token = await _owned_token(hub, user, request.path_params["token_id"])
    return JSONResponse(token_model(hub, token, user))


async def delete_token(request: Request) -> Response:
    hub = hub_of(request)
    identity = await caller(request)
    name = request.path_params["name"]
    authorize(request, identity, "tokens", user=name)
    user = target_user(hub, name)
    token = (await _owned_token(hub, user, request.path_params["token_id"])).info
    if token.oauth_client_id is not None:
        # Revoking an OAuth token revokes the user's whole grant to that client.
        await hub.tokens.revoke_where(user_id=user.id, oauth_client_id=token.oauth_client_id)
    else:
        await hub.tokens.revoke(token.id)
    return Response(status_code=204)


ROUTES = [
    Route("/api/users/{name}/tokens", list_tokens, methods=["GET"]),
    Route("/api/users/{name}/tokens", create_token, methods=["POST"]),
    Route("/api/users/{name}/tokens/{token_id}", get_token, methods=["GET"]),
    Route("/api/users/{name}/tokens/{token_id}", delete_token, methods=["DELETE"]),
]
