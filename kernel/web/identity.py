"""Who is making a request: an API token, or the login cookie of a live session.

``await identify(request)`` answers once per request (the answer is kept on
``request.state``). The caller is a user, or (with an API token only) a
service; only the REST API and the metrics page take services
(``services=True``): to the pages they are nobody. Tokens come from
``Authorization: token|bearer <t>`` only (as in JupyterHub, never from the
URL, where they would end up in logs and browser history); the login cookie
carries a signed session id (see ``kernel.sessions``). Cookie-authenticated
requests that change things must also carry the XSRF token (``check_xsrf``);
token-authenticated ones need not. Each authenticated request counts as
activity of its user and its token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, overload

from starlette.datastructures import UploadFile
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response

from kernel.clock import utcnow
from kernel.errors import HubError
from kernel.tokens import TokenInfo

if TYPE_CHECKING:
    from kernel.hub import Hub
    from kernel.services import Service
    from kernel.users import User

LOGIN_COOKIE = "jupyterhub-hub-login"
SESSION_COOKIE = "jupyterhub-session-id"
XSRF_COOKIE = "_xsrf"
XSRF_HEADERS = ("x-xsrftoken", "x-csrftoken")

_AUTH_HEADER = re.compile(r"^(?:token|bearer)\s+(\S+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Identity:
    """The authenticated caller of a request: a user, or a service."""

    #: The user, or None when the caller is a service.
    user: User | None
    #: The token used, for token-authenticated requests.
    token: TokenInfo | None = None
    #: The login session, for cookie-authenticated requests.
    session_id: str | None = None
    service: Service | None = None

    @property
    def by_cookie(self) -> bool:
        return self.token is None

    @property
    def kind(self) -> str:
        """"user" or "service", as the REST API's models say."""
        return "user" if self.user is not None else "service"

    @property
    def name(self) -> str:
        owner = self.user if self.user is not None else self.service
        assert owner is not None
        return owner.name


@dataclass(frozen=True)
class UserIdentity(Identity):
    """A caller who is a user: what ``identify`` answers unless services are asked for."""

    user: User


def hub_of(conn: HTTPConnection) -> Hub:
    return conn.app.state.hub


@overload
async def identify(conn: HTTPConnection, *,
                   services: Literal[False] = False) -> UserIdentity | None: ...
@overload
async def identify(conn: HTTPConnection, *, services: bool) -> Identity | None: ...
async def identify(conn: HTTPConnection, *, services: bool = False) -> Identity | None:
    """The caller, or None for an anonymous (or invalid) request; a service counts as
    anonymous unless ``services`` is true."""
    try:
        identity: Identity | None = conn.state.identity
    except AttributeError:  # the request's first question
        identity = await _identify(conn)
        conn.state.identity = identity
    if identity is not None and not isinstance(identity, UserIdentity) and not services:
        return None
    return identity


async def _identify(conn: HTTPConnection) -> Identity | None:
    hub = hub_of(conn)
    token = _presented_token(conn)
    if token is not None:
        info = await hub.tokens.find(token)
        if info is not None and info.service_id is not None:
            service = hub.services.by_id(info.service_id)
            if service is None:
                return None
            await hub.tokens.record_use(info.id, utcnow(), hub.config.hub.activity_resolution)
            return Identity(user=None, token=info, service=service)
        user = hub.users.by_id(info.user_id) if info and info.user_id is not None else None
        if user is None or not await _still_welcome(hub, user):
            return None
        await _record_use(hub, user, info)
        return UserIdentity(user=user, token=info)
    session_id = login_session(conn)
    if session_id is not None:
        user_id = hub.sessions.user_id(session_id)
        user = hub.users.by_id(user_id) if user_id is not None else None
        if user is not None and await _still_welcome(hub, user):
            await _record_use(hub, user, None)
            return UserIdentity(user=user, session_id=session_id)
    return None


def login_cookie(hub: Hub) -> str:
    """The login cookie's name: ``__Host-`` first with ``cookie_host_prefix_enabled``."""
    return ("__Host-" if hub.config.hub.cookie_host_prefix_enabled else "") + LOGIN_COOKIE


def session_cookie_domain(hub: Hub) -> str | None:
    """Where the session-id cookie goes: with subdomains, to every user's host too
    (JupyterHub's servers tie their cached logins to it), unless __Host- cookies keep
    the hub's cookies to the hub's own host."""
    if hub.config.hub.cookie_host_prefix_enabled:
        return None
    return hub.urls.domain or None


def login_session(conn: HTTPConnection) -> str | None:
    """The live login session the request's login cookie names, or None."""
    hub = hub_of(conn)
    cookie = conn.cookies.get(login_cookie(hub))
    if not cookie:
        return None
    session_id = hub.signer.session_from_login(cookie)
    if session_id is None or hub.sessions.user_id(session_id) is None:
        return None
    return session_id


async def _still_welcome(hub: Hub, user: User) -> bool:
    """Not blocked since they logged in, and the authenticator still accepts the login
    (refresh_user, at most every auth_refresh_age seconds)."""
    if user.name in hub.config.auth.blocked_users:
        return False
    return await hub.logins.refresh(user)


def _presented_token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization")
    if header:
        match = _AUTH_HEADER.match(header.strip())
        if match:
            return match.group(1)
    return None


async def _record_use(hub: Hub, user: User, token: TokenInfo | None) -> None:
    """The user (and the token) were active now; written at most once per
    activity_resolution, as JupyterHub does."""
    now = utcnow()
    resolution = hub.config.hub.activity_resolution
    await hub.users.record_activity(user, now, [], resolution)
    if token is not None:
        await hub.tokens.record_use(token.id, now, resolution)


def ensure_xsrf_cookie(request: Request, response: Response) -> str:
    """The XSRF token for forms on this page, set as a cookie unless the browser has one
    for its login session already (one made before a login is replaced)."""
    hub = hub_of(request)
    session_id = login_session(request)
    token = request.cookies.get(XSRF_COOKIE)
    if token and hub.signer.xsrf_matches(token, token, session_id):
        return token
    token = hub.signer.new_xsrf(session_id)
    # As JupyterHub: a token for someone not logged in lasts an hour.
    set_hub_cookie(request, response, XSRF_COOKIE, token,
                   max_age=None if session_id else 3600)
    return token


def check_xsrf(request: Request, submitted: str | UploadFile | None) -> None:
    """Refuse (403) a cookie-authenticated change without the right XSRF token.

    ``submitted`` is the ``_xsrf`` form field (a file there is no token); the
    ``X-XSRFToken`` header and the ``_xsrf`` query argument are accepted too.
    """
    hub = hub_of(request)
    submitted = ((submitted if isinstance(submitted, str) else None)
                 or request.query_params.get("_xsrf")
                 or next((request.headers[h] for h in XSRF_HEADERS if h in request.headers),
                         None))
    # JupyterHub's messages, which clients and their users may already know.
    if not submitted:
        raise HubError(403, f"'_xsrf' argument missing from {request.method}")
    if not hub.signer.xsrf_matches(request.cookies.get(XSRF_COOKIE), submitted,
                                   login_session(request)):
        raise HubError(403, f"XSRF cookie does not match {request.method} argument")


async def start_session(request: Request, user: User, next_url: str) -> Response:
    """Log ``user`` in: a new session, its cookies, and a redirect to where they were
    going (``next_url``, through the ``redirect`` hook).

    The end of every login: the password form's, and a plugin's that finishes a
    login elsewhere (see the ``login_services`` hook).
    """
    hub = hub_of(request)
    session_id = await hub.sessions.create(user.id)
    target = await hub.hooks.redirect(request=request, user=user, reason="login",
                                   path=next_url)
    response = RedirectResponse(target, status_code=302)
    max_age = hub.config.hub.cookie_max_age_days * 86400
    set_hub_cookie(request, response, login_cookie(hub), hub.signer.login_value(session_id),
                   max_age=max_age)
    set_hub_cookie(request, response, SESSION_COOKIE, session_id, path=hub.urls.base_url,
                   domain=session_cookie_domain(hub))
    # A new XSRF token for the new session: the one from before the login is no good.
    set_hub_cookie(request, response, XSRF_COOKIE, hub.signer.new_xsrf(session_id))
    return response


def set_hub_cookie(request: Request, response: Response, name: str, value: str, *,
                   path: str | None = None, max_age: float | None = None,
                   domain: str | None = None) -> None:
    """Set a hub cookie: HttpOnly, SameSite=Lax, Secure over https, under the hub prefix,
    for the hub's host only unless ``domain`` says otherwise. A ``__Host-`` cookie is
    always Secure, on ``/`` and for this host, as browsers require of the prefix."""
    hub = hub_of(request)
    host_only = name.startswith("__Host-")
    response.set_cookie(
        name, value, path="/" if host_only else path or hub.urls.hub_prefix,
        max_age=int(max_age) if max_age is not None else None,
        domain=None if host_only else domain, httponly=True, samesite="lax",
        secure=host_only or _is_https(request),
    )


def _is_https(request: Request) -> bool:
    """Whether the browser's request was https: the first X-Forwarded-Proto entry (the
    proxies in front name the scheme they were reached by), else this connection's.

    Not the connection alone: with internal_ssl the proxy reaches the hub over TLS
    while the browser may use plain http, and a Secure cookie would never come back.
    """
    forwarded = request.headers.get("x-forwarded-proto", "")
    if forwarded.strip():
        return forwarded.split(",")[0].strip().lower() == "https"
    return request.url.scheme == "https"
