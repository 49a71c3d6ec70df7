"""Hook specifications: around spawns and requests, observers, and what plugins add to
the web app and the command line."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from kernel.hookmodes import collect, each, first_result, notify
from kernel.hookspecs.marker import hookspec

if TYPE_CHECKING:
    import click
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.routing import BaseRoute

    from kernel.auth import LoginService
    from kernel.events import Event, Measurement
    from kernel.hub import Hub
    from kernel.spawner import Spawner
    from kernel.users import User

# --------------------------------------------------------------------------
# Around a live spawner
# --------------------------------------------------------------------------


@hookspec
@each(strict=True)
def pre_spawn_start(hub: Hub, user: User, spawner: Spawner) -> Awaitable[None] | None:
    """A server is about to start: prepare what it needs.

    Called for every enabled plugin, in ``hub.ini`` order, after the server's
    API token exists and right before ``spawner.start()``. Change
    ``spawner.environment`` or write files (certificates, PAM sessions) here.
    May return an awaitable. An exception fails the spawn, and its message is
    shown to the user.

    :param hub: the running hub.
    :param user: the server's owner.
    :param spawner: the spawner about to start.
    """


@hookspec
@each(strict=False)
def post_spawn_stop(hub: Hub, user: User, spawner: Spawner) -> Awaitable[None] | None:
    """A server has stopped (or failed to start): clean up after it.

    Called for every enabled plugin, in ``hub.ini`` order, after the spawner
    reports the server stopped. May return an awaitable. An exception is
    logged with the plugin's name and does not stop the other plugins.

    :param hub: the running hub.
    :param user: the server's owner.
    :param spawner: the spawner that stopped.
    """


# --------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------


@hookspec
@first_result
def redirect(hub: Hub, request: Request, user: User | None, reason: str, path: str) -> Any:
    """Where to send a browser: after login, from ``/``, or ``/user-redirect/``.

    Called in ``hub.ini`` order until one plugin returns a URL; when none
    does, the hub's default applies. May return an awaitable.

    :param hub: the running hub.
    :param request: the request being redirected.
    :param user: the logged-in user, or ``None``.
    :param reason: ``"user-redirect"`` (``path`` is what followed
        ``/user-redirect/``), ``"login"`` (``path`` is the ``next`` the login
        form carried, possibly empty) or ``"root"`` (a visit to the hub's
        root; ``path`` is empty).
    :param path: see ``reason``.
    :return: a URL (absolute path or full URL), or ``None`` to let the next
        plugin, then the default, decide. This is JupyterHub's
        ``user_redirect_hook`` and ``default_url`` in one hook.
    """


# --------------------------------------------------------------------------
# Observers: every enabled plugin is told; a failure never fails a request
# --------------------------------------------------------------------------


@hookspec
@notify(background=True)
def log(hub: Hub, event: Event) -> Awaitable[None] | None:
    """A structured event or request record happened.

    Called for every enabled plugin, in ``hub.ini`` order, for every request
    the hub answers (``event.name == "request"``) and every lifecycle event
    (login, logout, spawn requested/ready/failed, stop, route added/removed;
    see ``kernel.events``). May return an awaitable, which the hub runs in the
    background: the request never waits for it. An exception is logged with
    the plugin's name; the other plugins are still called.

    :param hub: the running hub.
    :param event: the record (``name``, ``time``, ``fields``).
    """


@hookspec
@notify(background=False)
def metrics(hub: Hub, measurement: Measurement) -> None:
    """A measurement was taken (a spawn took 2.1 s, a login, a route check).

    Called for every enabled plugin, in ``hub.ini`` order, on the event loop,
    for every measurement the hub reports. Must be a plain function that
    returns quickly and never blocks (queue the value; send it elsewhere); an
    awaitable it returns is dropped with an error in the log.
    An exception is logged with the plugin's name; the other plugins are
    still called.

    :param hub: the running hub.
    :param measurement: ``name``, ``kind`` (counter, gauge or timing),
        ``value`` and ``labels``.
    """


# --------------------------------------------------------------------------
# Extending the web app and the command line
# --------------------------------------------------------------------------


@hookspec
@collect
def web_routes(hub: Hub) -> list[BaseRoute]:
    """Starlette routes to add to the hub's web app.

    Called once for every enabled plugin while the web app is assembled.
    Paths are relative to the hub's prefix: ``Route("/my-page", ...)`` is
    served at ``{base_url}hub/my-page``. Must not return an awaitable.

    :param hub: the hub being started.
    :return: a list of ``starlette.routing.Route``/``Mount`` objects.
    """


@hookspec
@collect
def web_middleware(hub: Hub) -> list[Middleware]:
    """Starlette middleware to wrap around the hub's web app.

    Called once for every enabled plugin while the web app is assembled; the
    first plugin in ``hub.ini`` order is the outermost. Must not return an
    awaitable.

    :param hub: the hub being started.
    :return: a list of ``starlette.middleware.Middleware`` objects.
    """


@hookspec
@collect
def template_paths(hub: Hub) -> list[str]:
    """Folders of jinja2 templates this plugin ships.

    Called once for every enabled plugin when the template environment is
    built. Folders are searched after ``[hub] template_paths`` and before the
    hub's own templates, in ``hub.ini`` order, so a plugin can add pages and
    override built-in ones; an override can extend the original with
    ``{% extends "default:page.html" %}``. Must not return an awaitable.

    :param hub: the hub being started.
    :return: a list of folder paths.
    """


@hookspec
@collect
def login_services(hub: Hub) -> list[LoginService]:
    """Buttons on the login page for logins that happen elsewhere (OAuth, SAML, a
    campus single sign-on): JupyterHub's ``Authenticator.login_service`` and
    ``login_url``, for as many services as plugins offer.

    Called once for every enabled plugin, when the login page is first shown.
    Each ``LoginService(name, url)`` becomes a "Sign in with NAME" button
    leading to ``url`` (a path under ``{base_url}hub/``, such as
    ``oauth_login`` served by the plugin's ``web_routes``, or a full URL),
    with the page's ``next`` passed on as a query parameter. The buttons
    follow ``[auth] login_service`` (if set), in call order. With any login
    service the password form is not shown, and ``[auth] auto_login`` goes
    straight to the first one. Must not return an awaitable.

    :param hub: the running hub.
    :return: a list of ``kernel.auth.LoginService``, or ``None`` for none.
    """


@hookspec
@each(strict=True, awaits=False)
def cli_commands(cli: click.Group) -> None:
    """Add subcommands to the ``kernel`` command line.

    Called once for every enabled plugin (of the hub.ini of ``-c``, else
    ``$KERNELHUB_CONFIG``, else ``./hub.ini``; of the defaults when it has an
    error) when ``kernel`` looks for a command it does not have built in.
    Register with ``@cli.command()`` or ``cli.add_command(...)``; a taken
    name is an error. A plain function, not returning an awaitable.

    :param cli: the ``kernel`` click group.
    """
