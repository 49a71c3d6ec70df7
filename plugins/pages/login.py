"""The login and logout pages."""

from __future__ import annotations

import logging
import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from kernel.auth import login as authenticate_login
from kernel.security.next_url import safe_next_url
from kernel.web.identity import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    XSRF_COOKIE,
    check_xsrf,
    hub_of,
    identify,
    set_hub_cookie,
)

log = logging.getLogger("kernelhub.pages")


async def login_page(request: Request) -> Response:
    hub = hub_of(request)
    identity = await identify(request)
    next_url = safe_next_url(request.query_params.get("next"), hub.urls.base_url) or ""
    if identity is not None:
        target = await hub.hooks.first("redirect", hub=hub, request=request,
                                       user=identity.user, reason="login", path=next_url)
        return RedirectResponse(target, status_code=302)
    return request.app.state.templates.render(request, "login.html", next=next_url,
                                              username="", login_error=None)


async def login_submit(request: Request) -> Response:
    hub = hub_of(request)
    form = await request.form()
    check_xsrf(request, form.get("_xsrf"))  # type: ignore[arg-type]
    data = {key: value for key, value in form.items() if isinstance(value, str)}
    next_url = safe_next_url(data.get("next") or request.query_params.get("next"),
                             hub.urls.base_url) or ""
    began = time.monotonic()
    user = await authenticate_login(hub, request, data)
    hub.measure("login_duration_seconds", "timing", time.monotonic() - began,
                status="success" if user else "failure")
    if user is None:
        hub.emit("login.failed", user=data.get("username", ""))
        return request.app.state.templates.render(
            request, "login.html", status_code=403, next=next_url,
            username=data.get("username", ""), login_error="Invalid username or password.")
    session_id = await hub.sessions.create(user.id)
    hub.emit("login", user=user.name)
    target = await hub.hooks.first("redirect", hub=hub, request=request, user=user,
                                   reason="login", path=next_url)
    response = RedirectResponse(target, status_code=302)
    max_age = hub.config.hub.cookie_max_age_days * 86400
    set_hub_cookie(request, response, LOGIN_COOKIE, hub.signer.login_value(session_id),
                   max_age=max_age)
    set_hub_cookie(request, response, SESSION_COOKIE, session_id, path=hub.urls.base_url)
    # A new XSRF token for the new session.
    set_hub_cookie(request, response, XSRF_COOKIE, hub.signer.new_xsrf())
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
