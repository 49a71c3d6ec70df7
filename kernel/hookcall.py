"""Calling hooks: ``hub.hooks``, one typed method per hook.

Each method takes the hook's arguments by keyword (the runner supplies
``hub``) and returns what its call mode makes of the implementations'
answers (see ``kernel.hookmodes`` and, for the calling itself,
``kernel.hookengine``). A misspelled hook is an ``AttributeError`` where it is
called, and the hook names in strings stay in this module's method names::

    target = await hub.hooks.redirect(request=request, user=user, reason="root", path="")

The hub builds its runner with itself as ``hub``; the command line and the
config loader, which run before any hub exists, build one without.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kernel import hookspecs
from kernel.hookengine import CallTimer, HookEngine, PerPlugin, PluginError
from kernel.hookmodes import modes_of

if TYPE_CHECKING:
    import click
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.routing import BaseRoute

    from kernel.auth import AuthResult, LoginService
    from kernel.config.options import OptionRegistry
    from kernel.db.plugin_data import StoredData
    from kernel.events import Event, Measurement
    from kernel.plugin_scopes import ScopeDeclarations
    from kernel.proxy import Proxy
    from kernel.spawner import Spawner
    from kernel.tls import InternalTLS
    from kernel.users import Server, User

__all__ = ["HOOK_MODES", "CallTimer", "HookRunner", "PerPlugin", "PluginError"]

#: Every hook's call mode, by name, as its spec declares it.
HOOK_MODES = modes_of(hookspecs)


class HookRunner(HookEngine):
    """A hub's hooks, one method each; see each spec in ``kernel.hookspecs``."""

    # -- configuration and the command line: no hub yet --------------------------

    def declare_options(self, *, options: OptionRegistry,
                        around: PerPlugin | None = None) -> None:
        """Each plugin declares its options; ``around(plugin)`` wraps each one's call."""
        self._call(hookspecs.declare_options, options=options, around=around)

    def cli_commands(self, *, cli: click.Group, around: PerPlugin | None = None) -> None:
        """Each plugin adds its commands; ``around(plugin)`` wraps each one's call."""
        self._call(hookspecs.cli_commands, cli=cli, around=around)

    # -- hub lifecycle ------------------------------------------------------------

    async def hub_startup(self) -> None:
        """Each plugin starts, in order; the first failure stops the hub from starting."""
        await self._await(hookspecs.hub_startup)

    async def hub_shutdown(self) -> None:
        """Each plugin shuts down, in reverse order; failures are logged."""
        await self._await(hookspecs.hub_shutdown)

    # -- roles ----------------------------------------------------------------------

    async def authenticate(self, *, request: Request, data: dict[str, str]
                           ) -> AuthResult | str | dict[str, Any] | None:
        """The authenticator's answer: ``None`` (refused), a name, or who it is (an
        ``AuthResult``, or a dict with its fields; see the spec)."""
        return await self._await(hookspecs.authenticate, request=request, data=data)

    def spawn(self, *, user: User, server: Server) -> Spawner:
        """The spawner plugin's Spawner for ``server``."""
        return self._call(hookspecs.spawn, user=user, server=server)

    def route(self) -> Proxy:
        """The proxy plugin's Proxy."""
        return self._call(hookspecs.route)

    def internal_tls(self) -> InternalTLS | None:
        """The one plugin's internal TLS certificates, or None (internal TLS off)."""
        return self._call(hookspecs.internal_tls)

    # -- around a login ---------------------------------------------------------------

    async def post_auth(self, *, request: Request,
                        result: AuthResult) -> AuthResult | dict[str, Any]:
        """``result`` as every plugin in turn changed it (an AuthResult or a dict)."""
        return await self._await(hookspecs.post_auth, request=request, result=result)

    async def refresh_user(self, *, user: User) -> bool | dict[str, Any] | None:
        """The first plugin's verdict on ``user``'s login, or None (nothing changed)."""
        return await self._await(hookspecs.refresh_user, user=user)

    # -- around a live spawner ----------------------------------------------------------

    async def pre_spawn_start(self, *, user: User, spawner: Spawner) -> None:
        """Each plugin prepares the spawn; the first failure fails it."""
        await self._await(hookspecs.pre_spawn_start, user=user, spawner=spawner)

    async def post_spawn_stop(self, *, user: User, spawner: Spawner) -> None:
        """Each plugin cleans up after the server; failures are logged."""
        await self._await(hookspecs.post_spawn_stop, user=user, spawner=spawner)

    # -- requests -------------------------------------------------------------------------

    async def redirect(self, *, request: Request, user: User | None, reason: str,
                       path: str) -> str:
        """The first plugin's URL for this browser; the essential ``pages`` plugin always
        answers, last."""
        return await self._await(hookspecs.redirect, request=request, user=user,
                                 reason=reason, path=path)

    # -- observers ----------------------------------------------------------------------------

    def log(self, *, event: Event) -> None:
        """Tell every observer about ``event``; async ones run in the background."""
        self._call(hookspecs.log, event=event)

    def metrics(self, *, measurement: Measurement) -> None:
        """Tell every observer about ``measurement``, in line."""
        self._call(hookspecs.metrics, measurement=measurement)

    # -- the web app --------------------------------------------------------------------------

    def web_routes(self) -> list[BaseRoute]:
        """Every plugin's routes, concatenated."""
        return self._call(hookspecs.web_routes)

    def web_middleware(self) -> list[Middleware]:
        """Every plugin's middleware, concatenated (the first plugin's is outermost)."""
        return self._call(hookspecs.web_middleware)

    def template_paths(self) -> list[str]:
        """Every plugin's template folders, concatenated."""
        return self._call(hookspecs.template_paths)

    def login_services(self) -> list[LoginService]:
        """Every plugin's login services, concatenated."""
        return self._call(hookspecs.login_services)

    def extra_template_vars(self, *, request: Request, template: str,
                            user: User | None) -> dict[str, Any]:
        """Every plugin's variables for the page, merged (a later plugin's win)."""
        return {key: value
                for _, variables in self._call(hookspecs.extra_template_vars, request=request,
                                               template=template, user=user)
                for key, value in variables.items()}

    # -- plugins' own data and permissions ------------------------------------------------

    def stored_data(self) -> list[tuple[str, StoredData]]:
        """What each plugin keeps in the database, with the plugin's name."""
        return self._call(hookspecs.stored_data)

    def declare_scopes(self, *, scopes: ScopeDeclarations,
                       around: PerPlugin | None = None) -> None:
        """Each plugin declares its scopes; ``around(plugin)`` wraps each one's call."""
        self._call(hookspecs.declare_scopes, scopes=scopes, around=around)

    def granted_scopes(self, *, user: User | None, group: str | None) -> list[str]:
        """Every plugin's grants to ``user`` (or to the members of ``group``), concatenated."""
        return self._call(hookspecs.granted_scopes, user=user, group=group)

    async def resource_renamed(self, *, old: str, new: str) -> None:
        """Each plugin follows the rename of a user or server; failures are logged."""
        await self._await(hookspecs.resource_renamed, old=old, new=new)

    async def resource_deleted(self, *, user: User | None = None, server: Server | None = None,
                               group: str | None = None) -> None:
        """Each plugin forgets a deleted user, server or group; failures are logged."""
        await self._await(hookspecs.resource_deleted, user=user, server=server, group=group)
