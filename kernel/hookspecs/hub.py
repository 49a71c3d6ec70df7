"""Hook specifications: configuration, the hub's lifecycle, and the roles (one plugin
each: the authenticator, the spawner, the proxy, internal TLS)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from kernel.hookmodes import each, first_result, pipe, single
from kernel.hookspecs.marker import hookspec

if TYPE_CHECKING:
    from starlette.requests import Request

    from kernel.auth import AuthResult
    from kernel.config.options import OptionRegistry
    from kernel.hub import Hub
    from kernel.proxy import Proxy
    from kernel.spawner import Spawner
    from kernel.tls import InternalTLS
    from kernel.users import Server, User


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
        ``auth_state`` keys are accepted but not used by this version. A
        ``kernel.api.AuthResult`` with those fields is the typed way to say the same.
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
