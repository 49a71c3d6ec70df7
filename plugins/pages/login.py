"""The login and logout pages, with ``auto_login`` and external login services."""

from __future__ import annotations

import logging
import time
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from kernel.auth import login as authenticate_login
from kernel.errors import HubError
from kernel.hub import Hub
from kernel.security.next_url import safe_next_url
from kernel.users import User
from kernel.web.identity import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    XSRF_COOKIE,
    check_xsrf,
    hub_of,
    identify,
    set_hub_cookie,
)
from plugins.pages.base import render

log = logging.getLogger("kernelhub.pages")


def service_login_url(hub: Hub, next_url: str) -> str:
    """Where ``[auth] login_url`` starts a login elsewhere, carrying ``next``."""
    url = hub.config.auth.login_url
    if not url.startswith("/") and "://" not in url:
        url = hub.urls.hub_prefix + url
    if next_url:
        url += ("&" if "?" in url else "?") + urlencode({"next": next_url})
    return url


async def login_page(request: Request) -> Response:
    hub = hub_of(request)
    identity = await identify(request)
    next_url = safe_next_url(request.query_params.get("next"), hub.urls.base_url) or ""
    if identity is not None:
        target = await hub.hooks.first("redirect", hub=hub, request=request,
                                       user=identity.user, reason="login", path=next_url)
        return RedirectResponse(target, status_code=302)
    if hub.config.auth.auto_login:
        return await _auto_login(request, next_url)
    return _login_form(request, next_url, username=request.query_params.get("username", ""))


def _login_form(request: Request, next_url: str, *, status_code: int = 200,
                username: str = "", error: str | None = None) -> Response:
    hub = hub_of(request)
    service = hub.config.auth.login_service
    return render(request, "login.html", status_code=status_code, next=next_url,
                  username=username, login_error=error, login_service=service,
                  authenticator_login_url=service_login_url(hub, next_url) if service else "")


async def _auto_login(request: Request, next_url: str) -> Response:
    """JupyterHub's auto_login: straight to the login service, or, without one, a login
    from what the request itself carries (a header set by an authenticating proxy)."""
    hub = hub_of(request)
    if hub.config.auth.login_url:
        return RedirectResponse(service_login_url(hub, next_url), status_code=302)
    user = await authenticate_login(hub, request, {})
    if user is None:
        raise HubError(403, "Automatic login failed: the authenticator did not recognise "
                            "this request")
    return await _logged_in(request, user, next_url)


async def login_submit(request: Request) -> Response:
    hub = hub_of(request)
    form = await request.form()
    data = {key: value for key, value in form.items() if isinstance(value, str)}
    next_url = safe_next_url(data.get("next") or request.query_params.get("next"),
                             hub.urls.base_url) or ""
    try:
        check_xsrf(request, data.get("_xsrf"))
    except HubError as e:
        log.warning("XSRF error on the login form: %s", e.message)
        # Usually a form left open too long: a fresh one (with a new token) will work.
        return _login_form(request, next_url, status_code=403,
                           username=data.get("username", ""),
                           error="Login form invalid or expired. Try again.")
    began = time.monotonic()
    user = await authenticate_login(hub, request, data)
    hub.measure("login_duration_seconds", "timing", time.monotonic() - began,
                status="success" if user else "failure")
    if user is None:
        hub.emit("login.failed", user=data.get("username", ""))
        return _login_form(request, next_url, status_code=403,
                           username=data.get("username", ""),
                           error="Invalid username or password.")
    return await _logged_in(request, user, next_url)


async def _logged_in(request: Request, user: User, next_url: str) -> Response:
    """Start a session for ``user`` and send them on."""
    hub = hub_of(request)
    session_id = await hub.sessions.create(user.id)
    hub.emit("login", user=user.name)
    target = await hub.hooks.first("redirect", hub=hub, request=request, user=user,
                                   reason="login", path=next_url)
    response = RedirectResponse(target, status_code=302)
    max_age = hub.config.hub.cookie_max_age_days * 86400
    set_hub_cookie(request, response, LOGIN_COOKIE, hub.signer.login_value(session_id),
                   max_age=max_age)
    set_hub_cookie(request, response, SESSION_COOKIE, session_id, path=hub.urls.base_url)
    # A new XSRF token for the new session: the one from before the login is no good.
    set_hub_cookie(request, response, XSRF_COOKIE, hub.signer.new_xsrf(session_id))
    return response


async def logout(request: Request) -> Response:
    hub = hub_of(request)
    identity = await identify(request)
    if identity is not None and identity.session_id:
        await hub.sessions.revoke(identity.session_id)
        await hub.tokens.revoke_where(session_id=identity.session_id)
        if hub.config.hub.shutdown_on_logout:
            for server in identity.user.running_servers:
                hub.lifecycle.request_stop(server)
        hub.emit("logout", user=identity.user.name)
        log.info("User %s logged out", identity.user.name)
    if hub.config.auth.auto_login:
        # Back to the login page would log the person straight in again.
        request.state.identity = None  # the page is for someone signed out
        response: Response = render(request, "logout.html")
    else:
        response = RedirectResponse(f"{hub.urls.hub_prefix}login", status_code=302)
    for name, path in ((LOGIN_COOKIE, hub.urls.hub_prefix), (XSRF_COOKIE, hub.urls.hub_prefix),
                       (SESSION_COOKIE, hub.urls.base_url)):
        response.delete_cookie(name, path=path)
    return response


ROUTES = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout, methods=["GET", "POST"]),
]
