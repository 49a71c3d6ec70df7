"""The login and logout pages, with ``auto_login`` and external login services.

A login service (``[auth] login_service``, or one a plugin offers through the
``login_services`` hook) is a "Sign in with ..." button leading to a login
elsewhere; with any, the password form is not shown.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from kernel.auth import LoginService
from kernel.errors import HubError
from kernel.hub import Hub
from kernel.security.next_url import safe_next_url
from kernel.stash import StashKey
from kernel.web.identity import (
    SESSION_COOKIE,
    XSRF_COOKIE,
    check_xsrf,
    hub_of,
    identify,
    login_cookie,
    session_cookie_domain,
    start_session,
)
from plugins.pages.base import render

log = logging.getLogger("kernelhub.pages")

_LOGIN_SERVICES = StashKey[list[LoginService]]()
#: What JupyterHub's login.html asks its authenticator (``authenticator.request_otp``):
#: kernelhub's form has no one-time-password field.
LOGIN_FORM_OPTIONS = SimpleNamespace(request_otp=False, otp_prompt="OTP:")


def login_services(hub: Hub) -> list[LoginService]:
    """``[auth] login_service``, then what plugins offer; collected once per hub."""
    services = hub.stash.get(_LOGIN_SERVICES)
    if services is None:
        options = hub.config.auth
        services = [LoginService(options.login_service, options.login_url)] \
            if options.login_service else []
        services.extend(hub.hooks.login_services())
        hub.stash[_LOGIN_SERVICES] = services
    return services


def service_login_url(hub: Hub, url: str, next_url: str) -> str:
    """Where a login elsewhere starts (a path under the hub, or a full URL), carrying
    ``next``."""
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
        target = await hub.hooks.redirect(request=request, user=identity.user,
                                       reason="login", path=next_url)
        return RedirectResponse(target, status_code=302)
    if hub.config.auth.auto_login:
        return await _auto_login(request, next_url)
    return _login_form(request, next_url, username=request.query_params.get("username", ""))


def _login_form(request: Request, next_url: str, *, status_code: int = 200,
                username: str = "", error: str | None = None) -> Response:
    hub = hub_of(request)
    buttons = [(service.name, service_login_url(hub, service.url, next_url))
               for service in login_services(hub)]
    # JupyterHub's names, for templates written for it: login_service is the first
    # service, authenticator_login_url where its button leads (or where the form posts).
    form_url = service_login_url(hub, "login", next_url)
    first_name, first_url = buttons[0] if buttons else ("", form_url)
    return render(request, "login.html", status_code=status_code, next=next_url,
                  username=username, login_error=error, login_services=buttons,
                  login_service=first_name, authenticator_login_url=first_url,
                  authenticator=LOGIN_FORM_OPTIONS)


async def _auto_login(request: Request, next_url: str) -> Response:
    """JupyterHub's auto_login: straight to the login service, or, without one, a login
    from what the request itself carries (a header set by an authenticating proxy)."""
    hub = hub_of(request)
    services = login_services(hub)
    url = hub.config.auth.login_url or (services[0].url if services else "")
    if url:
        return RedirectResponse(service_login_url(hub, url, next_url), status_code=302)
    user = await hub.logins.login(request, {})
    if user is None:
        raise HubError(403, "Automatic login failed: the authenticator did not recognise "
                            "this request")
    return await start_session(request, user, next_url)


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
    user = await hub.logins.login(request, data)
    if user is None:
        return _login_form(request, next_url, status_code=403,
                           username=data.get("username", ""),
                           error="Invalid username or password.")
    return await start_session(request, user, next_url)


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
    prefixed = hub.config.hub.cookie_host_prefix_enabled
    for name, path, domain in (
            (login_cookie(hub), "/" if prefixed else hub.urls.hub_prefix, None),
            (XSRF_COOKIE, hub.urls.hub_prefix, None),
            (SESSION_COOKIE, hub.urls.base_url, session_cookie_domain(hub))):
        # A __Host- cookie is only replaced by one that is Secure too.
        response.delete_cookie(name, path=path, domain=domain,
                               secure=name.startswith("__Host-"))
    return response


ROUTES = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout, methods=["GET", "POST"]),
]
