"""The hook specifications: the whole surface a kernelhub plugin can implement.

Every hook below is documented for plugin authors, and each has a page in
``docs/hooks/``. Implement one with ``from kernel import hookimpl`` and a
module-level function of the same name; you may accept any subset of the
arguments, in any order (pluggy passes them by name).

A hook documented as "may return an awaitable" can be implemented with
``def`` or ``async def``; kernelhub awaits the result for you (see
``kernel.hookengine``). The others must be plain functions.

The decorator under ``@hookspec`` is the hook's call mode (see
``kernel.hookmodes``): how the hub calls the implementations and combines
their results. The hub calls a hook through its typed method on
``hub.hooks`` (``kernel.hookcall.HookRunner``), never by name.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import pluggy

from kernel import PROJECT_NAME
from kernel.hookmodes import collect, each, first_result, notify, per_plugin, pipe, single

if TYPE_CHECKING:
    import click
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.routing import BaseRoute

    from kernel.auth import AuthResult, LoginService
    from kernel.config.options import OptionRegistry
    from kernel.db.plugin_data import StoredData
    from kernel.events import Event, Measurement
    from kernel.hub import Hub
    from kernel.plugin_scopes import ScopeDeclarations
    from kernel.proxy import Proxy
    from kernel.spawner import Spawner
    from kernel.tls import InternalTLS
    from kernel.users import Server, User

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------


@hookspec
@each(strict=True, awaits=False)
def declare_options(options: OptionRegistry) -> None:
    """Declare the ``hub.ini`` options this plugin owns.

    Called once for every enabled plugin while the plugin manager is built,
    before ``hub.ini`` is validated, so that every key in the file can be
    type-checked and every typo reported. Must be a plain function, not
    returning an awaitable; an exception is a start-up error naming the
    plugin. Call ``options.add(section, name,
    type, default, help)`` for each option (see
    ``kernel.config.options.OptionRegistry``). Use the section named after
    your plugin for its own options; ``[hub]``, ``[auth]``, ``[spawner]`` and
    ``[proxy]`` hold options shared across plugins.

    :param options: the registry to declare into.
    :return: nothing; results are ignored.
    """


# --------------------------------------------------------------------------
# Hub lifecycle
# --------------------------------------------------------------------------


@hookspec
@each(strict=True)
def hub_startup(hub: Hub) -> Awaitable[None] | None:
    """The hub is starting: open what the plugin needs, start its background tasks.

    Called once, in ``hub.ini`` order, inside the web server's start-up: the
    database is open and the users are loaded, but the proxy is not started
    and servers left running by a previous hub are not taken over yet, so an
    observer that opens a file here sees every event that follows. Keep
    handles in ``hub.stash`` to close them in ``hub_shutdown``; run loops
    with ``hub.background(coroutine, name=...)``, which the hub stops first
    thing at shutdown. May return an
    awaitable. An exception stops the hub from starting, with your plugin
    named in the error (and ``hub_shutdown`` is still called).

    :param hub: the running hub.
    """


@hookspec
@each(strict=False, reverse=True)
def hub_shutdown(hub: Hub) -> Awaitable[None] | None:
    """The hub is shutting down: close what ``hub_startup`` opened.

    Called once, in reverse ``hub.ini`` order, last: after servers were
    stopped (``cleanup_servers``) and the proxy was stopped
    (``cleanup_proxy``), so observers have seen those events. It is called
    whenever ``hub_startup`` was called, even if some plugin's
    ``hub_startup`` failed: check ``hub.stash`` before closing what you may
    not have opened. May return an awaitable. An exception is logged with
    the plugin's name and does not stop the other plugins from shutting down.

    :param hub: the running hub.
    """


# --------------------------------------------------------------------------
# Roles: exactly one enabled plugin answers each of these
# --------------------------------------------------------------------------


@hookspec
@single("authenticator", chosen_by="authenticator_class", default="pam",
        may_decline=True, awaits=True)
def authenticate(hub: Hub, request: Request, data: dict[str, str]) -> Any:
    """Who is this login? The authenticator's job.

    Called for every login attempt with the submitted form fields (at least
    ``username`` and ``password``). Exactly one enabled plugin may implement
    it: the one named by ``[hub] authenticator_class``. May return an
    awaitable; blocking work (PAM, LDAP) belongs in a thread
    (``starlette.concurrency.run_in_threadpool``).

    :param hub: the running hub.
    :param request: the login request (client address, headers).
    :param data: the submitted form fields.
    :return: ``None`` to refuse the login; the user name as a string; or a
        dict with ``name`` and optionally ``admin`` (sets the admin flag; leave it
        out to keep it as it is), ``user_info`` (a dict stored with the user and shown as
        ``user_info`` in the REST API) and ``allowed`` (True when the
        authenticator's own rules, such as PAM's ``allowed_groups``, let the
        user in; ``[auth] blocked_users`` still wins), as JupyterHub's
        ``Authenticator.authenticate`` returns. JupyterHub's ``groups`` and
        ``auth_state`` keys are accepted but not used by this version.
    """


@hookspec
@pipe("result")
def post_auth(hub: Hub, request: Request, result: AuthResult) -> Any:
    """Change or refuse a successful login before the hub accepts it.

    Called after ``authenticate`` succeeded, for every enabled plugin in
    ``hub.ini`` order, each seeing what the previous one returned: look up
    the person's groups elsewhere, add ``user_info``, rename them, or refuse
    them. May return an awaitable. This is JupyterHub's ``post_auth_hook``.

    :param hub: the running hub.
    :param request: the login request.
    :param result: the login so far (``kernel.auth.AuthResult``: ``name``,
        ``admin``, ``allowed``, ``user_info``, ``auth_state``, ``groups``).
    :return: a changed ``AuthResult`` (or a dict, as ``authenticate`` may
        return) to use from now on; ``None`` to leave it as it is. Raise
        ``kernel.errors.HubError(403, message)`` to refuse the login with
        that message.
    """


@hookspec
@first_result
def refresh_user(hub: Hub, user: User) -> Any:
    """Is this person's login still good? The authenticator's periodic re-check.

    Called for a logged-in user at most every ``[auth] auth_refresh_age``
    seconds, when they use the hub, and before their server starts when
    ``[auth] refresh_pre_spawn`` is on. Implement it in an authenticator whose
    logins can expire or change (an OAuth token, a directory's groups).
    Called in ``hub.ini`` order until one plugin answers. May return an
    awaitable.

    :param hub: the running hub.
    :param user: the logged-in user (``hub.logins.auth_state(user)`` reads
        their decrypted auth state).
    :return: ``None`` or ``True``: nothing changed; ``False``: the login is
        no longer good, so the user is logged out everywhere and must log in
        again; a dict: changes, as ``authenticate`` returns them (``admin``,
        ``auth_state``, ``user_info``).
    """


@hookspec
@single("spawner", chosen_by="spawner_class", default="localprocess")
def spawn(hub: Hub, user: User, server: Server) -> Spawner:
    """A Spawner object for one user's server. The spawner's job.

    Called when the hub needs a spawner for a server: before it is started,
    and at hub start-up for servers recorded as running. Exactly one enabled
    plugin may implement it: the one named by ``[hub] spawner_class``. Must
    not block or return an awaitable: construct the object and return it; the
    object's async ``start/poll/stop`` methods do the work.

    :param hub: the running hub.
    :param user: the server's owner.
    :param server: the server record (name, state, options).
    :return: a ``kernel.spawner.Spawner``.
    """


@hookspec
@single("proxy", chosen_by="proxy_class", default="kernel-proxy")
def route(hub: Hub) -> Proxy:
    """The Proxy object that keeps the public routing table. The proxy's job.

    Called once at start-up. Exactly one enabled plugin may implement it: the
    one named by ``[hub] proxy_class``. Must not block or return an
    awaitable; the object's async ``start/add_route/delete_route/
    get_all_routes`` methods do the work.

    :param hub: the hub being started.
    :return: a ``kernel.proxy.Proxy``.
    """


@hookspec
@single("internal TLS certificates", may_decline=True)
def internal_tls(hub: Hub) -> InternalTLS | None:
    """The certificates for mutual TLS on every internal connection, or None (off).

    Called once while the hub is built, before anything listens. Return a
    ``kernel.tls.InternalTLS`` to turn internal TLS on: the hub then serves
    its own port over HTTPS and requires client certificates, presents its
    certificate on every connection it makes, gives the proxy its API and
    client certificates, and writes ``https://`` in the URLs it hands out
    (see ``kernel.tls``). At most one enabled plugin may return something
    (the built-in one is ``internal-ssl``); two answers are a start-up
    error. Must not return an awaitable. An exception stops the hub from
    starting, with your plugin named in the error.

    :param hub: the hub being built (``hub.config`` is ready; nothing runs).
    :return: a ``kernel.tls.InternalTLS``, or None.
    """


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


# --------------------------------------------------------------------------
# Plugins' own data and permissions
# (one block: the tables, scopes and grants a plugin brings)
# --------------------------------------------------------------------------


@hookspec
@per_plugin
def stored_data() -> StoredData | None:
    """The tables this plugin keeps in the hub's database, and how they upgrade.

    Called once for every enabled plugin, when the hub is built and when
    ``kernel upgrade-db`` runs, before the database is checked. Must be a
    plain function, not returning an awaitable. Return a
    ``kernel.db.plugin_data.StoredData(models, migrations)``: the peewee models
    as they are now (in an order that satisfies foreign keys; they are bound
    to the hub's database for you) and the ``Migration`` steps from version 1
    (the plugin's first tables) to now. The kernel records the plugin's
    schema version: a database that has not seen the plugin gets its tables
    at the latest version; one whose tables are behind stops the hub until
    ``kernel upgrade-db`` (or ``[hub] upgrade_db``) runs the migrations, with
    the same backup as the kernel's own.

    :return: what the plugin stores, or ``None`` for nothing.
    """


@hookspec
@each(strict=True, awaits=False)
def declare_scopes(scopes: ScopeDeclarations) -> None:
    """Declare the scopes this plugin brings, and which built-in roles hold them.

    Called once for every enabled plugin while the hub is built, before
    ``hub.ini``'s roles are applied, so that roles, tokens and services can
    name the new scopes. Must be a plain function, not returning an
    awaitable; an exception (a scope declared twice, a subscope nobody
    declares) is a start-up error naming the plugin. Call
    ``scopes.add(name, description, subscopes, roles=("admin",), own=True)``:
    ``roles`` lists the built-in roles (``admin``, ``user``, ``server``,
    ``token``) that hold the scope, ``own`` makes it part of ``self`` (every
    user holds it on their own resources). Without ``[hub] admin_access``,
    admins get a scope that implies ``access:servers`` only as its other
    subscopes.

    :param scopes: the declarations to add to (``kernel.plugin_scopes``).
    :return: nothing; results are ignored.
    """


@hookspec
@collect
def granted_scopes(hub: Hub, user: User | None, group: str | None) -> list[str] | None:
    """Scopes this plugin grants a user, or the members of a group, beyond their roles.

    Called for every enabled plugin when the hub works out what a user may
    do (``user`` set, ``group`` None; the answer includes what the user's
    groups get) or what membership of a group gives (``user`` None,
    ``group`` its name; checked when someone adds a member). The hub caches
    the results: call ``hub.permissions.changed()`` whenever your grants
    change. Must be a plain, quick function, not returning an awaitable and
    not querying the database; an exception fails the request.

    :param hub: the running hub.
    :param user: the user whose scopes are worked out, or None.
    :param group: the group whose members' scopes are worked out, or None.
    :return: scopes (filtered as you like, e.g.
        ``access:servers!server=alice/``), or ``None`` for none.
    """


@hookspec
@each(strict=False)
def resource_renamed(hub: Hub, old: str, new: str) -> Awaitable[None] | None:
    """A user or a server was renamed: rewrite what the plugin keeps that names it.

    Called for every enabled plugin, in turn, after the rename is stored and
    before the request answers, so that what a plugin keeps (a share's
    scopes, ``access:servers!server=alice/gpu``) keeps naming the renamed
    user or server, and nothing passes to whoever takes the old name next.
    ``old`` and ``new`` are user names (``alice``) or servers' full names
    (``alice/gpu``), as ``kernel.scopes.follow_rename`` takes them. May
    return an awaitable; an exception is logged and the others still run.

    :param hub: the running hub.
    :param old: the old name.
    :param new: the new name.
    """


@hookspec
@each(strict=False)
def resource_deleted(hub: Hub, user: User | None, server: Server | None,
                     group: str | None) -> Awaitable[None] | None:
    """A user, a named server or a group was deleted: forget what the plugin keeps of it.

    Called for every enabled plugin, in turn, once the deletion is stored
    (database rows that refer to it with ``on_delete="CASCADE"`` are gone
    already) and before the request answers. Exactly one of ``user``,
    ``server`` and ``group`` is set. Forget what you keep in memory, and
    call ``hub.permissions.changed()`` if that changes anyone's scopes. May
    return an awaitable; an exception is logged and the others still run.

    :param hub: the running hub.
    :param user: the deleted user, or None.
    :param server: the deleted named server, or None.
    :param group: the name of the deleted group, or None.
    """


@hookspec
@per_plugin
def extra_template_vars(hub: Hub, request: Request, template: str,
                        user: User | None) -> dict[str, Any] | None:
    """Variables to add to a page the hub renders (datasette's hook of the same name).

    Called for every enabled plugin each time a page is rendered, with the
    template's name (``home.html``); the variables of all plugins are merged,
    and the page's own variables win over them. Must be a plain, quick
    function, not returning an awaitable; an exception fails the page.

    :param hub: the running hub.
    :param request: the request being answered.
    :param template: the template's file name.
    :param user: the logged-in person, or None.
    :return: a dict of template variables, or ``None`` for none.
    """
