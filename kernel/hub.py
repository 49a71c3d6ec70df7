"""The Hub: one running hub's state and the order in which it starts and stops.

Everything a plugin can reach hangs off the ``hub`` argument of its hooks:
``hub.config`` (typed hub.ini), ``hub.users`` (users and servers in memory),
``hub.services``, ``hub.lifecycle`` (spawn/stop), ``hub.routes`` and ``hub.proxy``,
``hub.tokens``, ``hub.sessions``, ``hub.db``, ``hub.urls``, ``hub.stash``
(per-plugin state), ``hub.background`` (a plugin's long-running task,
stopped with the hub), ``hub.emit`` (structured events for the ``log`` hook)
and ``hub.measure`` (numbers for the ``metrics`` hook).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from starlette.requests import HTTPConnection

from kernel import JUPYTERHUB_VERSION, __version__, plugin_scopes
from kernel.auth import username_problem
from kernel.bootstrap import apply_config
from kernel.config.loader import Loaded
from kernel.config.values import Config
from kernel.db import models as orm
from kernel.db import plugin_data, schema
from kernel.db.database import Database
from kernel.events import Event, Measurement, MeasurementKind
from kernel.groups import GroupRegistry
from kernel.hookcall import HookRunner, PluginError
from kernel.lifecycle import ServerLifecycle
from kernel.logins import Logins
from kernel.oauth import OAuthClients
from kernel.permissions import Permissions
from kernel.plugin_scopes import ScopeDeclarations
from kernel.proxy import Proxy
from kernel.resume import resume_all
from kernel.roles import apply_config_roles
from kernel.routes import RouteKeeper
from kernel.scopes import CustomScopeError, define_custom_scopes, definition
from kernel.security.cookie_secret import load_cookie_secret
from kernel.security.signing import CookieSigner
from kernel.security.tokens import provided_token_rounds
from kernel.services import ServiceError, ServiceRegistry, specs_from_config
from kernel.sessions import SessionStore
from kernel.spawner import Spawner
from kernel.stash import Stash
from kernel.tls import InternalTLS
from kernel.tokens import TokenStore
from kernel.urls import hub_urls
from kernel.users import Server, UserRegistry
from kernel.web.client_address import ProxyHop, client_address, trusted_networks

log = logging.getLogger("kernelhub")


class Hub:
    """One hub: built from a loaded config, prepared, then started inside the web server."""

    version = __version__
    #: What the API reports as its version: the JupyterHub contract it serves.
    api_version = JUPYTERHUB_VERSION

    def __init__(self, loaded: Loaded) -> None:
        self.config = loaded.config
        self.plugins = loaded.plugins
        # The stash first: an observer may keep its state there from the first hook call
        # on, and every hook call is measured (prometheus records hook_duration_seconds).
        self.stash = Stash()
        self.hooks = HookRunner(self.plugins.manager, hub=self, timed=self._hook_timed)
        self._declare_plugin_scopes()
        _define_custom_scopes(self.config)
        #: The certificates of internal TLS, when a plugin turns it on (see kernel.tls).
        self.tls: InternalTLS | None = self.hooks.internal_tls()
        self.urls = hub_urls(self.config, internal_tls=self.tls is not None)
        options = self.config.hub
        max_age = options.cookie_max_age_days * 86400
        self.db = Database(options.db_url, options.db_kwargs, debug=options.debug_db)
        #: The tables each plugin keeps (the ``stored_data`` hook), by plugin name.
        self.stored_data = plugin_data.collect(self.plugins.manager)
        self.db.bind(model for data in self.stored_data.values() for model in data.models)
        self.users = UserRegistry(self.db)
        self.groups = GroupRegistry(self.db, self.users)
        self.services = ServiceRegistry(self.db)
        self.permissions = Permissions(self)
        self.tokens = TokenStore(self.db)
        self.sessions = SessionStore(self.db, max_age)
        self.oauth_clients = OAuthClients(self.db)
        cookie_secret = load_cookie_secret(options.cookie_secret, options.cookie_secret_file)
        self.signer = CookieSigner(cookie_secret, max_age)
        #: Marks the requests the hub's own proxy forwards (see kernel.web.client_address).
        self.proxy_hop = ProxyHop(cookie_secret)
        self.logins = Logins(self)
        self._trusted = trusted_networks(options.trusted_downstream_ips)
        self.lifecycle = ServerLifecycle(self)
        self.routes = RouteKeeper(self)
        self.proxy: Proxy = self.hooks.route()
        self.http: httpx.AsyncClient | None = None
        self.started_at: float | None = None
        #: What shutdown does; from hub.ini, changed by POST /hub/api/shutdown.
        self.cleanup_servers: bool = options.cleanup_servers
        self.cleanup_proxy: bool = options.cleanup_proxy
        self._shutdown_requested = asyncio.Event()
        #: Plugins' long-running tasks (``background``), cancelled at shutdown.
        self._background: list[asyncio.Task[Any]] = []
        self._plugins_started = False
        self._stopped = False

    def _declare_plugin_scopes(self) -> None:
        """The plugins' scopes (the ``declare_scopes`` hook), each subscope checked."""
        declarations = ScopeDeclarations()
        declared_by: dict[str, str] = {}

        @contextmanager
        def attributed(plugin: str) -> Iterator[None]:
            yield
            for name in declarations.definitions:
                declared_by.setdefault(name, plugin)

        self.hooks.declare_scopes(scopes=declarations, around=attributed)
        plugin_scopes.declare(declarations)
        for name, (_, subscopes) in declarations.definitions.items():
            missing = [sub for sub in subscopes if definition(sub) is None]
            if missing:
                raise PluginError(declared_by[name], "declare_scopes", ValueError(
                    f"the scope {name!r} implies {', '.join(missing)}, which nobody declares"))

    # -- before the web server starts -------------------------------------------

    def prepare_database(self) -> None:
        """Check (or upgrade, or reset) the schema, apply hub.ini, load users and sessions.

        Runs before anything listens, so that a database problem stops the hub
        with a clear message and nothing half-started.
        """
        self.db.call(self._prepare_database)

    def _prepare_database(self) -> None:
        options = self.config.hub
        db = self.db.peewee
        if options.reset_db:
            schema.reset(db, self.stored_data)
        if options.upgrade_db:
            for step in schema.upgrade(db, self.stored_data):
                log.info("Database upgraded to schema version %s", step)
        how = ("run `kernel upgrade-db" + (f" -c {self.config.file}`" if self.config.file
                                           else "`") + " (or set [hub] upgrade_db = true)")
        schema.check(db, how_to_upgrade=how, plugins=self.stored_data)
        schema.initialize(db, self.stored_data)
        apply_config(self.config)
        self._apply_config_services()
        apply_config_roles(self.config)
        self.services.load()
        self.users.load()
        if self._invalid_users():
            self.users.load()
        self.groups.load()
        for data in self.stored_data.values():
            if data.load is not None:
                data.load(self)
        self.permissions.load()
        self.sessions.load()
        log.info("Loaded %d user(s) from %s", len(self.users), self.db.url.split("://")[0])

    def _apply_config_services(self) -> None:
        specs = specs_from_config(self.config, self.urls)
        rounds = provided_token_rounds(self.config.hub.trust_user_provided_tokens)
        try:
            self.services.apply_config(specs, self.config.hub.service_tokens,
                                       token_rounds=rounds)
        except ServiceError as e:
            if e.field == "service_tokens":
                raise self.config.error(str(e), "hub", "service_tokens") from None
            raise self.config.error(str(e), f"service:{e.service}",
                                    None if e.field == "name" else e.field) from None

    def _invalid_users(self) -> bool:
        """Users whose names [auth] username_pattern no longer allows: deleted when
        delete_invalid_users is on (True), else a start-up error naming them."""
        invalid = [u for u in self.users if username_problem(self, u.name)]
        if not invalid:
            return False
        names = ", ".join(u.name for u in invalid[:10]) + (" ..." if len(invalid) > 10 else "")
        if not self.config.auth.delete_invalid_users:
            raise self.config.error(
                f"{len(invalid)} user(s) in the database have names this configuration does "
                f"not allow ({names}); set [auth] delete_invalid_users = true to delete them",
                "auth", "username_pattern")
        log.warning("Deleting %d user(s) whose names are no longer valid: %s", len(invalid),
                    names)
        orm.User.delete().where(orm.User.id.in_([u.id for u in invalid])).execute()
        return True

    # -- inside the web server's lifespan ------------------------------------------

    async def start(self) -> None:
        """Start plugins, then the proxy, then take over servers left running.

        Plugins start first and stop last, so that observers see every event.
        On failure the caller (the web server's lifespan) calls ``stop``.
        """
        began = time.monotonic()
        self.http = httpx.AsyncClient(
            trust_env=False, timeout=httpx.Timeout(10.0),
            verify=self.tls.hub.client_context() if self.tls is not None else True)
        self._plugins_started = True
        await self.hooks.hub_startup()
        if self.proxy.should_start:
            await self.proxy.start()
        await resume_all(self.lifecycle)
        await self.routes.check_routes()
        self.routes.supervise()
        self.started_at = time.monotonic()
        self.measure("hub_startup_duration_seconds", "timing", self.started_at - began)
        self.emit("hub.started", url=self.urls.public_url)
        # "kernelhub ... is running at" the public address is logged once the hub's own
        # server listens (kernel.serve), as the last start-up line.

    async def stop(self) -> None:
        """Shut down, honouring cleanup_servers and cleanup_proxy; once only."""
        if self._stopped:
            return
        self._stopped = True
        self.emit("hub.stopping")
        await self._stop_background()  # no culling or checking while servers stop
        await self.routes.stop()
        if self.cleanup_servers:
            await self.lifecycle.stop_all()
        else:
            self.lifecycle.forget_all()
            log.info("Leaving users' servers running (cleanup_servers = false)")
        if self.proxy.should_start:
            if self.cleanup_proxy:
                await self.proxy.stop()
            else:
                log.info("Leaving the proxy running (cleanup_proxy = false)")
        close = getattr(self.proxy, "close", None)
        if close is not None:
            await close()
        if self._plugins_started:
            await self.hooks.hub_shutdown()
        await self.hooks.drain()
        if self.http is not None:
            await self.http.aclose()
        self.db.close()

    def background(self, work: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run a plugin's long-running work (a loop that checks or sends something every
        so often) until the hub stops: the task is cancelled and awaited first thing at
        shutdown, before servers stop and ``hub_shutdown`` runs; if it fails, the error
        is logged with ``name``."""
        task = asyncio.create_task(work, name=name)
        self._background.append(task)
        task.add_done_callback(_log_failure)
        return task

    async def _stop_background(self) -> None:
        # A task whose loop has ended already (a test client's) is done: leave it.
        running = [task for task in self._background if not task.done()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._background.clear()

    def client_address(self, request: HTTPConnection) -> str:
        """Who sent a request: the hub's proxy and [hub] trusted_downstream_ips may say.

        The access log middleware works it out first, as only it sees whether the
        hub's proxy forwarded the request (``ProxyHop``); without it (an app built
        without that middleware) X-Forwarded-For counts from trusted peers only.
        """
        known = request.scope.get("state", {}).get("client_address")
        if known is not None:
            return known
        return client_address(request.client.host if request.client else None,
                              request.headers.getlist("x-forwarded-for"), self._trusted)

    def request_shutdown(self) -> None:
        """Ask the web server to shut down (as SIGTERM does); returns at once."""
        self._shutdown_requested.set()

    async def shutdown_requested(self) -> None:
        """Wait until someone asks the hub to shut down (the web server's trigger)."""
        await self._shutdown_requested.wait()

    # -- roles ------------------------------------------------------------------

    def new_spawner(self, server: Server) -> Spawner:
        """A spawner for ``server`` from the spawner plugin (the ``spawn`` hook)."""
        return self.hooks.spawn(user=server.user, server=server)

    # -- observers ------------------------------------------------------------------

    def emit(self, name: str, **fields: Any) -> None:
        """Tell the ``log`` hook about an event; never waits and never fails."""
        self.hooks.log(event=Event(name, fields))

    def measure(self, name: str, kind: MeasurementKind, value: float, **labels: str) -> None:
        """Tell the ``metrics`` hook about a measurement; never waits and never fails."""
        self.hooks.metrics(measurement=Measurement(name, kind, value, labels))

    def _hook_timed(self, hook: str, plugin: str, seconds: float) -> None:
        self.measure("hook_duration_seconds", "timing", seconds, hook=hook, plugin=plugin)


def _define_custom_scopes(config: Config) -> None:
    """The [custom_scope:custom:NAME] sections become the scopes roles and tokens may use."""
    sections = config.collection("custom_scope")
    try:
        define_custom_scopes({name: (section.description, section.subscopes)
                              for name, section in sections.items()})
    except CustomScopeError as e:
        raise config.error(str(e), f"custom_scope:{e.scope}") from None


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s failed", task.get_name(), exc_info=task.exception())
