"""GET/POST /hub/api/oauth2/authorize: may this logged-in person use this server or service?

A browser arrives here from a server that wants to know who it is talking
to. The hub checks the client and its redirect URI (exactly), that the
person holds one of the client's access scopes (``access:servers!server=
alice/``, ``access:services!service=grader``), asks them to confirm unless
it is their own server, a service set to ``oauth_no_confirm``, or a client
they already allowed these scopes, and sends the browser back with a
one-time code. Someone not logged in goes to the login page first and comes
back here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kernel.errors import HubError
from kernel.hub import Hub
from kernel.oauth import PKCE_VALUE, OAuthClient
from kernel.scopes import IDENTIFY_SCOPES, ScopeError, Scopes, parse
from kernel.web.identity import UserIdentity, check_xsrf, hub_of, identify
from kernel.web.renderer import PAGE_RENDERER

PARAMETERS = ("client_id", "redirect_uri", "response_type", "state", "scope",
              "code_challenge", "code_challenge_method")


async def authorize(request: Request) -> Response:
    hub = hub_of(request)
    params = await _parameters(request)
    identity = await identify(request)
    if identity is None or identity.token is not None:
        # Only a browser session can authorize; send it through the login page.
        authorize_url = f"{request.url.path}?{urlencode(params)}"
        return RedirectResponse(f"{hub.urls.hub_prefix}login?{urlencode({'next': authorize_url})}",
                                status_code=302)
    client = await _client(hub, params)
    scopes = hub.permissions.scopes(identity)
    granted_access = [s for s in client.access_scopes if _holds(hub, scopes, s)]
    if not granted_access:
        what = client.description or client.identifier
        raise HubError(403, f"{identity.user.name} may not use {what}")
    token_scopes = sorted({*granted_access, *IDENTIFY_SCOPES,
                           *_requested(hub, scopes, client, params.get("scope", ""))})
    if request.method == "GET" and await _needs_confirmation(hub, identity, client,
                                                             granted_access, token_scopes):
        return hub.stash[PAGE_RENDERER].render(
            request, "oauth.html", client=client, scopes=token_scopes, params=params)
    if request.method == "POST":
        check_xsrf(request, (await request.form()).get("_xsrf"))
    code = await hub.oauth_clients.issue_code(
        client, user_id=identity.user.id, session_id=identity.session_id, scopes=token_scopes,
        redirect_uri=params["redirect_uri"], code_challenge=params.get("code_challenge"),
        code_challenge_method=params.get("code_challenge_method"))
    answer = {"code": code, **({"state": params["state"]} if "state" in params else {})}
    separator = "&" if "?" in params["redirect_uri"] else "?"
    return RedirectResponse(f"{params['redirect_uri']}{separator}{urlencode(answer)}",
                            status_code=302)


async def _parameters(request: Request) -> dict[str, str]:
    source: Any = request.query_params
    if request.method == "POST":
        source = await request.form()
    return {name: source[name] for name in PARAMETERS
            if isinstance(source.get(name), str) and source.get(name)}


async def _client(hub: Hub, params: dict[str, str]) -> OAuthClient:
    """The client, if its redirect URI is exactly the registered one (400 otherwise)."""
    if params.get("response_type", "code") != "code":
        raise HubError(400, "Only response_type=code is supported")
    client = await hub.oauth_clients.get(params.get("client_id", ""))
    if client is None:
        raise HubError(400, "Unknown OAuth client")
    if params.get("redirect_uri") != client.redirect_uri:
        raise HubError(400, "redirect_uri does not match the client's registered one")
    if params.get("code_challenge_method", "plain") not in ("plain", "S256"):
        raise HubError(400, "code_challenge_method must be S256 or plain")
    challenge = params.get("code_challenge")
    if challenge is not None and not PKCE_VALUE.fullmatch(challenge):
        # Refused now, with a reason, rather than failing at the token request later.
        raise HubError(400, "code_challenge must be 1 to 128 ASCII letters, digits, '-', "
                            "'.', '_' or '~' (RFC 7636)")
    return client


def _holds(hub: Hub, scopes: Scopes, scope: str) -> bool:
    """Whether ``scopes`` cover a filtered scope such as access:servers!server=alice/."""
    try:
        base, filter_ = parse(scope)
    except ScopeError:
        return False
    if not isinstance(filter_, tuple):
        return scopes.allows(base)
    kind, value = filter_
    return scopes.allows(base, groups_of=hub.permissions.groups_of, **{kind: value})


def _requested(hub: Hub, scopes: Scopes, client: OAuthClient, scope: str) -> list[str]:
    """Requested scopes the client may ask for and the person holds."""
    allowed = set(client.allowed_scopes)
    return [s for s in scope.split() if s in allowed and _holds(hub, scopes, s)]


async def _needs_confirmation(hub: Hub, identity: UserIdentity, client: OAuthClient,
                              access_scopes: list[str], token_scopes: list[str]) -> bool:
    """JupyterHub's rule: not for one's own server, nor for a service that is part of
    the hub (oauth_no_confirm), nor when this client already holds these scopes."""
    name = identity.name
    if any(s.endswith(f"!user={name}") or f"!server={name}/" in s for s in access_scopes):
        return False
    service = hub.services.by_oauth_client(client.identifier)
    if service is not None and service.spec.oauth_no_confirm:
        return False
    granted = await hub.tokens.granted_scopes(identity.user.id, client.id)
    return not granted or not set(token_scopes) <= granted
