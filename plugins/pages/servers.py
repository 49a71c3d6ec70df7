"""Pages around a user's servers: home, spawn, spawn-pending, not-running, redirects, errors."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from kernel.errors import HubError
from kernel.hub import Hub
from kernel.security.next_url import safe_next_url
from kernel.urls import escape_path_segment
from kernel.users import Server, User
from kernel.web.identity import UserIdentity, check_xsrf, hub_of, identify
from plugins.pages.base import logged_in, render

#: How often the not-running page may bounce a browser back to a running server.
MAX_REDIRECTS = 5
#: JupyterHub 6's rule for new server names (the REST API applies the same).
SERVER_NAME = re.compile(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,29}")


def default_redirect(hub: Hub, user: User | None, reason: str, path: str) -> str:
    """JupyterHub's answers: the login page, `next`, default_url, the server, or home."""
    prefix = hub.urls.hub_prefix
    if user is None:
        return f"{prefix}login"
    if reason == "user-redirect":
        server_name = hub.config.hub.default_server_name
        return f"{Server(user=user, name=server_name, id=0).link(hub.urls)}{path}"
    if reason == "login" and path:
        return path
    if hub.config.hub.default_url:
        return hub.config.hub.default_url
    if not hub.config.hub.redirect_to_server:
        return f"{prefix}home"
    server = user.server(hub.config.hub.default_server_name)
    if server is not None and server.active:
        return server.link(hub.urls)
    return f"{prefix}spawn"


def owned_server(hub: Hub, identity: UserIdentity, user_name: str | None, server_name: str,
                 scope: str = "start:servers") -> tuple[User, str]:
    """The user whose server a page is about: the caller, or someone whose servers the
    caller may manage (``scope`` on that server, as the REST API would require)."""
    if user_name is None or user_name == identity.user.name:
        return identity.user, server_name
    scopes = hub.permissions.scopes(identity)
    user = hub.users.get(user_name)
    if not scopes.allows(scope, server=f"{user_name}/{server_name}",
                         groups_of=hub.permissions.groups_of):
        if scopes.holds(scope):
            raise HubError(404, "No access to resources or resources not found")
        raise HubError(403, f"{identity.user.name} may not manage {user_name}'s servers")
    if user is None:
        raise HubError(404, f"No such user: {user_name}")
    return user, server_name


async def root(request: Request) -> Response:
    hub = hub_of(request)
    identity = await identify(request)
    target = await hub.hooks.redirect(request=request,
                                   user=identity.user if identity else None, reason="root",
                                   path="")
    return RedirectResponse(target, status_code=302)


async def home(request: Request) -> Response:
    identity = await logged_in(request)
    if isinstance(identity, Response):
        return identity
    hub = hub_of(request)
    user = identity.user
    default = user.server("") or Server(user=user, name="", id=0)
    named = sorted((s for s in user.servers.values() if s.name), key=lambda s: s.name)
    return render(
        request, "home.html", nav_current="home", default_server=default,
        # JupyterHub's names: url is what "My Server" leads to, spawners every server.
        url=default.link(hub.urls) if default.active else _spawn_url(hub, default),
        spawners=user.servers, url_path_join=url_path_join, invalid_server_names=[],
        named_servers=named, allow_named_servers=hub.config.hub.allow_named_servers,
        named_server_limit=hub.config.hub.named_server_limit_per_user,
        has_options_form=bool(await hub.new_spawner(default).options_form()),
        user_url=lambda s: s.link(hub.urls),
        quote=escape_path_segment,
    )


def url_path_join(*pieces: str) -> str:
    """JupyterHub's helper for home.html: join URL parts with single slashes."""
    parts = [p.strip("/") for p in pieces if p]
    joined = "/".join(p for p in parts if p)
    if pieces and pieces[0].startswith("/"):
        joined = "/" + joined
    return joined + "/" if pieces and pieces[-1].endswith("/") and joined != "/" else joined


async def spawn(request: Request) -> Response:
    """Start the server (if it is not running) and show its progress.

    With an ``options_form``, a GET shows the form and its POST starts the
    server with what was chosen as ``user_options``.
    """
    identity = await logged_in(request)
    if isinstance(identity, Response):
        return identity
    hub = hub_of(request)
    server_name = request.path_params.get("server_name",
                                          hub.config.hub.default_server_name)
    if server_name and not hub.config.hub.allow_named_servers:
        raise HubError(400, "Named servers are not enabled on this hub")
    user, server_name = owned_server(hub, identity, request.path_params.get("user_name"),
                                     server_name)
    server = user.server(server_name) or await _new_server(hub, user, server_name)
    next_url = request.query_params.get("next")
    user_options = None
    if request.method == "POST":
        form = await request.form()
        check_xsrf(request, form.get("_xsrf"))
        user_options = hub.new_spawner(server).options_from_form(_text_fields(form))
    elif not server.active and (options_form := await hub.new_spawner(server).options_form()):
        action = _spawn_url(hub, server) + (f"?{urlencode({'next': next_url})}"
                                            if next_url else "")
        # spawner_options_form, url, for_user and spawner: JupyterHub's names.
        return render(
            request, "spawn.html", server=server, options_form=options_form,
            spawner_options_form=options_form, action=action, url=action,
            for_user=user, spawner=server)
    if not server.active:
        hub.lifecycle.request_spawn(server, user_options)
    return RedirectResponse(_pending_url(hub, server, next_url), status_code=302)


async def _new_server(hub: Hub, user: User, server_name: str) -> Server:
    """A new named server record, within the rules the REST API applies (name, limit)."""
    if server_name:
        if not SERVER_NAME.fullmatch(server_name):
            raise HubError(400, f"Invalid server name {server_name!r}: use up to 30 "
                                "lower-case letters, digits and single hyphens, starting "
                                "with a letter")
        limit = hub.config.hub.named_server_limit_per_user
        if limit and sum(1 for s in user.servers.values() if s.name) >= limit:
            raise HubError(400, f"{user.name} already has the maximum of {limit} named "
                                "servers; delete one before creating another")
    return await hub.users.server(user, server_name)


def _pending_url(hub: Hub, server: Server, next_url: str | None) -> str:
    path = f"{hub.urls.hub_prefix}spawn-pending/{escape_path_segment(server.user.name)}"
    if server.name:
        path += f"/{escape_path_segment(server.name)}"
    safe = safe_next_url(next_url, hub.urls.base_url)
    return path + (f"?{urlencode({'next': safe})}" if safe else "")


async def spawn_pending(request: Request) -> Response:
    identity = await logged_in(request)
    if isinstance(identity, Response):
        return identity
    hub = hub_of(request)
    user, server_name = owned_server(hub, identity, request.path_params["user_name"],
                                     request.path_params.get("server_name", ""), "read:servers")
    server = user.server(server_name)
    if server is None:
        raise HubError(404, f"{user.name} has no server named {server_name!r}")
    target = on_servers_host(hub, server, safe_next_url(request.query_params.get("next"),
                                                        hub.urls.base_url)) or server.link(hub.urls)
    if server.ready:
        return RedirectResponse(target, status_code=302)
    if server.pending == "stop":
        return render(request, "stop_pending.html", server=server, spawner=server)
    api = f"{hub.urls.hub_prefix}api/users/{escape_path_segment(user.name)}"
    progress_url = f"{api}/servers/{escape_path_segment(server_name)}/progress" if server_name \
        else f"{api}/server/progress"
    return render(
        request, "spawn_pending.html", server=server, spawner=server, progress_url=progress_url,
        next_url=target, failed=server.progress.failed if not server.active else None,
        spawn_url=_spawn_url(hub, server),
    )


def _text_fields(form: FormData) -> dict[str, list[str]]:
    """The options form's fields but ``_xsrf``, each as the list of its values."""
    fields: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            # Options are kept as JSON with the server; an uploaded file is no option.
            raise HubError(400, f"The options form sent a file in its field {key!r}; "
                                "server options are text fields only")
        if key != "_xsrf":
            fields.setdefault(key, []).append(value)
    return fields


def _spawn_url(hub: Hub, server: Server) -> str:
    path = f"{hub.urls.hub_prefix}spawn/{escape_path_segment(server.user.name)}"
    return path + (f"/{escape_path_segment(server.name)}" if server.name else "")


def on_servers_host(hub: Hub, server: Server, path: str | None) -> str | None:
    """A path into ``server`` as a URL on the server's own host (with subdomains; the
    path as it is without them, or when it leads elsewhere on the hub)."""
    if path and path.startswith(server.prefix(hub.urls.base_url)):
        return hub.urls.origin_of(server.user.name, "user") + path
    return path


async def not_running(request: Request) -> Response:
    """`/hub/user/NAME/...`: the proxy had no route, so the server is not (yet) running."""
    identity = await logged_in(request)
    if isinstance(identity, Response):
        return identity
    hub = hub_of(request)
    user_name = request.path_params["user_name"]
    rest = request.path_params.get("path", "")
    user = hub.users.get(user_name)
    server_name = ""
    if user is not None and hub.config.hub.allow_named_servers \
            and rest.split("/", 1)[0] in user.servers:
        server_name = rest.split("/", 1)[0]
    can_start = _may_start(hub, identity, user_name, server_name)
    if user is None:
        raise HubError(404, f"No such user: {user_name}")
    server = user.server(server_name)
    public_path = request.url.path.replace(hub.urls.hub_prefix, hub.urls.base_url, 1)
    if server is not None and server.ready:
        # Back to the server, on its own host with subdomains.
        origin = hub.urls.origin_of(user.name, "user")
        redirects = int(request.query_params.get("redirects", "0") or 0)
        if redirects >= MAX_REDIRECTS:
            raise HubError(500, f"{user.name}'s server is running but the proxy does not "
                                "route to it; the hub is fixing the route, try again shortly")
        await hub.routes.check_routes()
        return RedirectResponse(
            f"{origin}{public_path}?{urlencode({'redirects': redirects + 1})}", status_code=302)
    if "/api/" in f"/{rest}" or "application/json" in request.headers.get("accept", ""):
        raise HubError(424, f"{user.name}'s server {server_name!r} is not running")
    if can_start and server is not None and server.pending == "spawn":
        return RedirectResponse(_pending_url(hub, server, public_path), status_code=302)
    stub = server or Server(user=user, name=server_name, id=0)
    failed = stub.progress.failed if can_start else None
    return render(
        request, "not_running.html", status_code=424, server=stub, can_start=can_start,
        server_name=server_name, failed_message=failed.get("message", "") if failed else "",
        own=user is identity.user,
        spawn_url=_spawn_url(hub, stub) + f"?{urlencode({'next': public_path})}",
        implicit_spawn_seconds=hub.config.hub.implicit_spawn_seconds if can_start else 0,
        failed=failed,
    )


def _may_start(hub: Hub, identity: UserIdentity, user_name: str, server_name: str) -> bool:
    """Whether the caller may start this server; 403/404 if they may not even use it
    (a server shared with them may be used, but only its owner starts it)."""
    if user_name == identity.user.name:
        return True
    scopes = hub.permissions.scopes(identity)
    full_name = f"{user_name}/{server_name}"
    groups_of = hub.permissions.groups_of
    if scopes.allows("start:servers", server=full_name, groups_of=groups_of):
        return True
    if scopes.allows("access:servers", server=full_name, groups_of=groups_of):
        return False
    if scopes.holds("start:servers") or scopes.holds("access:servers"):
        raise HubError(404, "No access to resources or resources not found")
    raise HubError(403, f"{identity.user.name} may not use {user_name}'s servers")


async def user_redirect(request: Request) -> Response:
    identity = await logged_in(request)
    if isinstance(identity, Response):
        return identity
    hub = hub_of(request)
    path = request.path_params.get("path", "")
    if request.url.query:
        path += f"?{request.url.query}"
    target = await hub.hooks.redirect(request=request, user=identity.user,
                                   reason="user-redirect", path=path)
    return RedirectResponse(target, status_code=302)


async def error_page(request: Request) -> Response:
    """The proxy's error target: /hub/error/404 and /hub/error/503 (?url= the failed path)."""
    await identify(request)
    status = int(request.path_params["status"])
    url = request.query_params.get("url", "")
    messages = {404: "There is nothing at this address.",
                503: "The server at this address is not answering. If it is yours, it may "
                     "have stopped: go to your home page to start it again."}
    return render(
        request, "error.html", status_code=status if 400 <= status < 600 else 500,
        status=status, message=messages.get(status, "Something went wrong."), url=url)


ROUTES = [
    Route("/", root, methods=["GET"]),
    Route("/home", home, methods=["GET"]),
    Route("/spawn", spawn, methods=["GET", "POST"]),
    Route("/spawn/{user_name}", spawn, methods=["GET", "POST"]),
    Route("/spawn/{user_name}/{server_name}", spawn, methods=["GET", "POST"]),
    Route("/spawn-pending/{user_name}", spawn_pending, methods=["GET"]),
    Route("/spawn-pending/{user_name}/{server_name}", spawn_pending, methods=["GET"]),
    Route("/user/{user_name}", not_running, methods=["GET"]),
    Route("/user/{user_name}/{path:path}", not_running, methods=["GET"]),
    Route("/user-redirect/{path:path}", user_redirect, methods=["GET"]),
    Route("/error/{status:int}", error_page, methods=["GET"]),
]
