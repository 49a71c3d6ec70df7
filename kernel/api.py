"""The plugin API: everything of the kernel a plugin may import, and nothing else.

Plugins (built-in, ``contrib/`` and third-party) import from here; tests also
use ``kernel.testing``. What is not here is not promised and may change
between releases. The index, by what a plugin does:

Implementing hooks
    ``hookimpl`` marks a hook implementation; the hooks are documented in
    ``docs/plugins.md`` and ``kernel/hookspecs/``. ``PluginError`` is what a
    hook implementation's exception becomes when it stops the hub.
The hub a hook receives
    ``Hub``, the typed protocol of what a plugin may use on the ``hub``
    argument; ``User`` and ``Server``, the people and their servers.
Roles
    ``Spawner``, the base of what the ``spawn`` hook returns; ``Proxy`` (and
    ``ProxyError``), the base of what the ``route`` hook returns;
    ``InternalTLS``, what the ``internal_tls`` hook returns (``hub.tls``), and
    ``CertFiles``, a certificate's files (what ``Spawner.move_certs`` moves).
Options
    ``OptionRegistry`` (the ``declare_options`` hook's argument), ``Option``
    (a typed key: ``hub.config[KEY]``), ``ConfigError`` and the option types
    (``Text``, ``Boolean``, ``Integer``, ``Number``, ``TextList``,
    ``Command``, ``Choice``, ``URL``, ``Table``, and ``OptionType`` to write
    your own).
Observing
    ``Event`` (what the ``log`` hook receives), ``Measurement`` and
    ``MeasurementKind`` (what the ``metrics`` hook receives).
State
    ``StashKey``, the key of a plugin's own state in ``hub.stash``.
Requests
    ``HubError`` (a refusal with an HTTP status), ``hub_of(request)`` (the
    hub serving a request), ``identify(request)`` and ``Identity`` (who
    makes it; ``UserIdentity`` when that is a user, as for every page),
    ``check_xsrf(request, submitted)`` (for forms sent with the login
    cookie), ``Scopes`` and ``ScopeError`` (what a caller may do).
Logging in
    ``AuthResult``, who a login is: what the ``authenticate`` hook may
    return, and what ``post_auth`` receives and may change.
Time
    ``utcnow()``, the timezone-aware UTC time every hub timestamp uses.
Keeping data (the ``stored_data`` hook; see ``kernel.storage``)
    ``Model``, the base of a plugin's peewee models; ``JSONField`` and
    ``UTCDateTimeField``; ``UserTable``, ``ServerTable`` and ``GroupTable``,
    the kernel's tables a plugin's may refer to; ``Migration`` and
    ``StoredData``, the hook's answer; ``Database``, the hub's database
    (``hub.db``).
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from kernel import hookimpl
from kernel.auth import AuthResult
from kernel.clock import utcnow
from kernel.config import ConfigError, Option, OptionRegistry
from kernel.config.types import (
    URL,
    Boolean,
    Choice,
    Command,
    Integer,
    Number,
    OptionType,
    Table,
    Text,
    TextList,
)
from kernel.errors import HubError
from kernel.events import Event, Measurement, MeasurementKind
from kernel.hookcall import PluginError
from kernel.proxy import Proxy, ProxyError
from kernel.scopes import ScopeError, Scopes
from kernel.spawner import Spawner
from kernel.stash import StashKey
from kernel.storage import (
    Database,
    GroupTable,
    JSONField,
    Migration,
    Model,
    ServerTable,
    StoredData,
    UserTable,
    UTCDateTimeField,
)
from kernel.tls import CertFiles, InternalTLS
from kernel.users import Server, User
from kernel.web.identity import Identity, UserIdentity, check_xsrf, hub_of, identify

if TYPE_CHECKING:
    import asyncio

    import httpx
    from starlette.requests import HTTPConnection

    from kernel.config import Config
    from kernel.groups import GroupRegistry
    from kernel.hookcall import HookRunner
    from kernel.lifecycle import ServerLifecycle
    from kernel.logins import Logins
    from kernel.permissions import Permissions
    from kernel.routes import RouteKeeper
    from kernel.services import ServiceRegistry
    from kernel.stash import Stash
    from kernel.tokens import TokenStore
    from kernel.urls import HubURLs
    from kernel.users import UserRegistry


class Hub(Protocol):
    """What a plugin may use of the hub its hooks receive (the running hub is more).

    Read-only: a plugin keeps its own state in ``stash``, never as attributes
    of the hub. The collaborators' own methods are documented where they are
    defined; ``docs/plugins.md`` ("What the hub gives you") lists the common ones.
    """

    @property
    def version(self) -> str:
        """kernelhub's version."""

    @property
    def api_version(self) -> str:
        """The JupyterHub version whose contracts the hub serves."""

    @property
    def config(self) -> Config:
        """The validated hub.ini: ``config[KEY]``, ``config.section(name).key``."""

    @property
    def stash(self) -> Stash:
        """Per-plugin state, keyed by each plugin's ``StashKey``s."""

    @property
    def hooks(self) -> HookRunner:
        """Calls hooks, for a plugin that offers an extension point of its own."""

    @property
    def urls(self) -> HubURLs:
        """Addresses: ``base_url``, ``hub_prefix``, ``public_url``, ``hub_api_url``."""

    @property
    def users(self) -> UserRegistry:
        """Every user and their servers, in memory."""

    @property
    def groups(self) -> GroupRegistry:
        """Groups and their members."""

    @property
    def services(self) -> ServiceRegistry:
        """The hub's services."""

    @property
    def permissions(self) -> Permissions:
        """Roles and scopes: who may do what."""

    @property
    def tokens(self) -> TokenStore:
        """API tokens: issue, find, revoke."""

    @property
    def logins(self) -> Logins:
        """Logging in by any route: ``login``, ``auth_state``, ``refresh``."""

    @property
    def lifecycle(self) -> ServerLifecycle:
        """Starting and stopping servers: ``request_spawn``, ``request_stop``."""

    @property
    def routes(self) -> RouteKeeper:
        """Keeps the proxy's routing table in step with the running servers."""

    @property
    def proxy(self) -> Proxy:
        """The proxy object the ``route`` hook made."""

    @property
    def tls(self) -> InternalTLS | None:
        """Internal TLS's certificates, when a plugin turns it on."""

    @property
    def db(self) -> Database:
        """The database: ``await db.run(fn, ...)`` runs a query off the event loop."""

    @property
    def http(self) -> httpx.AsyncClient | None:
        """An HTTP client for outgoing requests, from start-up until shutdown."""

    def new_spawner(self, server: Server) -> Spawner:
        """A spawner for ``server`` from the spawner plugin, not started: to ask it for its
        options form, say. The hub makes its own for each start."""

    def emit(self, name: str, **fields: Any) -> None:
        """Report an event to the ``log`` hook; never waits and never fails."""

    def measure(self, name: str, kind: MeasurementKind, value: float, **labels: str) -> None:
        """Report a number to the ``metrics`` hook; never waits and never fails."""

    def background(self, work: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run a long-running task until the hub stops; a failure is logged with ``name``."""

    def client_address(self, request: HTTPConnection) -> str:
        """Who sent a request, as the hub's proxy and trusted_downstream_ips say."""

    def request_shutdown(self) -> None:
        """Ask the hub to shut down, as SIGTERM does."""


__all__ = [
    "URL",
    "AuthResult",
    "Boolean",
    "CertFiles",
    "Choice",
    "Command",
    "ConfigError",
    "Database",
    "Event",
    "GroupTable",
    "Hub",
    "HubError",
    "Identity",
    "Integer",
    "InternalTLS",
    "JSONField",
    "Measurement",
    "MeasurementKind",
    "Migration",
    "Model",
    "Number",
    "Option",
    "OptionRegistry",
    "OptionType",
    "PluginError",
    "Proxy",
    "ProxyError",
    "ScopeError",
    "Scopes",
    "Server",
    "ServerTable",
    "Spawner",
    "StashKey",
    "StoredData",
    "Table",
    "Text",
    "TextList",
    "UTCDateTimeField",
    "User",
    "UserIdentity",
    "UserTable",
    "check_xsrf",
    "hookimpl",
    "hub_of",
    "identify",
    "utcnow",
]
