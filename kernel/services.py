"""Services: programs that use the hub's API, and may sit behind it at /services/NAME/.

A service is a principal like a user: it owns API tokens, holds roles, and
may be an OAuth client, so that people log in to it with their hub account
(client ``service-NAME``, access scope ``access:services!service=NAME``).
It is *external* when something else runs it (``url`` and ``api_token``),
*managed* when the hub runs its ``command`` (the ``services`` plugin starts,
restarts and stops it, and checks that services answer).

Services come from ``[service:NAME]`` sections, written to the database at
every start-up (a section that is gone takes its service, tokens and OAuth
client with it), or from ``POST /hub/api/services/NAME``, kept until deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from kernel.clock import utcnow
from kernel.db import models as orm
from kernel.oauth import delete_client, upsert_client
from kernel.roles import BUILTIN_ROLES, builtin_scopes
from kernel.scopes import ScopeError, check
from kernel.security.tokens import (
    GENERATED_ROUNDS,
    MIN_TOKEN_LENGTH,
    check_token,
    hash_token,
    new_token,
    token_prefix,
)

if TYPE_CHECKING:
    from kernel.config.values import Config
    from kernel.db.database import Database
    from kernel.urls import HubURLs

log = logging.getLogger("kernelhub.services")

#: The note of the token the hub makes for a managed service without api_token.
GENERATED_NOTE = "generated at startup"


class ServiceError(ValueError):
    """A service definition that cannot work; ``field`` names the key at fault."""

    def __init__(self, field: str, message: str, service: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.service = service


@dataclass(frozen=True)
class ServiceSpec:
    """What defines a service: JupyterHub's service keys, from hub.ini or the REST API."""

    name: str
    url: str = ""
    api_token: str = ""
    #: Deprecated: holds the admin role.
    admin: bool = False
    display: bool = True
    info: dict[str, Any] = field(default_factory=dict)
    oauth_client_id: str = ""
    oauth_redirect_uri: str = ""
    oauth_no_confirm: bool = False
    oauth_client_allowed_scopes: tuple[str, ...] = ()
    #: Managed services only: what to run, where, as whom, with which extra variables.
    command: tuple[str, ...] = ()
    cwd: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    user: str = ""
    #: Seconds to wait for the service's URL to answer (at start, and at each check).
    timeout: float = 30.0

    @property
    def managed(self) -> bool:
        return bool(self.command)

    @property
    def oauth_available(self) -> bool:
        """Whether people can log in to it: it has a URL, or OAuth is configured."""
        return bool(self.url or self.oauth_client_id or self.oauth_redirect_uri
                    or self.oauth_no_confirm)

    def completed(self, urls: HubURLs) -> ServiceSpec:
        """The spec with JupyterHub's defaults filled in and every key checked
        (ServiceError names the first that is wrong)."""
        _check_name(self.name)
        if self.url:
            parts = urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ServiceError("url", f"{self.url!r} is not an http(s) URL such as "
                                          "http://127.0.0.1:10101")
        if self.api_token and len(self.api_token) < MIN_TOKEN_LENGTH:
            raise ServiceError("api_token",
                               f"a token must have at least {MIN_TOKEN_LENGTH} characters")
        try:
            check(self.oauth_client_allowed_scopes)
        except ScopeError as e:
            raise ServiceError("oauth_client_allowed_scopes", str(e)) from None
        done = self
        if self.oauth_available:
            client_id = self.oauth_client_id or f"service-{self.name}"
            if not client_id.startswith("service-"):
                raise ServiceError("oauth_client_id",
                                   f"{client_id!r} must start with 'service-'")
            redirect = self.oauth_redirect_uri or (
                f"{service_link(urls, self.name)}oauth_callback" if self.url else "")
            if not redirect:
                raise ServiceError("oauth_redirect_uri",
                                   "a service without a url that uses OAuth needs "
                                   "oauth_redirect_uri")
            done = replace(done, oauth_client_id=client_id, oauth_redirect_uri=redirect)
        return done


def service_prefix(base_url: str, name: str) -> str:
    """The public path of a service, e.g. /services/grader/."""
    return f"{base_url}services/{quote(name, safe='')}/"


def service_link(urls: HubURLs, name: str) -> str:
    """The URL people open: the prefix, or https://grader--service.hub.example.org/services/
    grader/ with subdomains."""
    return urls.origin_of(name, "service") + service_prefix(urls.base_url, name)


def _check_name(name: str) -> None:
    """JupyterHub's rules: the name is a single, plain path component."""
    if not name or name != name.strip():
        raise ServiceError("name", "a service name must not be empty nor start or end "
                                   "with a space")
    if "/" in name or unquote(name) != name or set(name) == {"."}:
        raise ServiceError("name", f"{name!r} cannot be a service name: it must be one "
                                   "plain path component (no '/', no %-escapes, not "
                                   "only dots)")


@dataclass
class Health:
    """Whether the service's URL answered at the last check."""

    #: "unknown" (not checked yet, or no URL), "up" or "down".
    status: str = "unknown"
    #: When the status last changed.
    since: datetime | None = None
    #: Why it is down.
    reason: str | None = None

    def set(self, status: str, reason: str | None = None) -> bool:
        """Record a check's result; whether the status changed."""
        changed = status != self.status
        if changed:
            self.since = utcnow()
        self.status, self.reason = status, reason
        return changed


@dataclass(eq=False)
class Service:
    """A service as the running hub knows it."""

    id: int
    spec: ServiceSpec
    from_config: bool
    #: The token a managed service is given (in memory only, from hub.ini or generated at
    #: start-up; the database has only its hash).
    api_token: str | None = None
    #: The managed service's process id while it runs.
    pid: int = 0
    health: Health = field(default_factory=Health)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def url(self) -> str | None:
        return self.spec.url or None

    @property
    def kind(self) -> str:
        """"managed" or "external", as JupyterHub's logs call them."""
        return "managed" if self.spec.managed else "external"

    def prefix(self, base_url: str) -> str:
        return service_prefix(base_url, self.name)

    def link(self, urls: HubURLs) -> str:
        return service_link(urls, self.name)

    def routespec(self, urls: HubURLs) -> str:
        """The proxy's route, on the service's own host with subdomains."""
        return urls.domain_of(self.name, "service") + self.prefix(urls.base_url)


class ServiceRegistry:
    """Every service, in memory and in the database, at ``hub.services``."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._services: dict[str, Service] = {}

    def __iter__(self) -> Iterator[Service]:
        return iter(self._services.values())

    def __len__(self) -> int:
        return len(self._services)

    def get(self, name: str) -> Service | None:
        return self._services.get(name)

    def by_id(self, service_id: int) -> Service | None:
        return next((s for s in self._services.values() if s.id == service_id), None)

    def by_oauth_client(self, client_id: str) -> Service | None:
        return next((s for s in self._services.values()
                     if s.spec.oauth_client_id == client_id), None)

    # -- at start-up, on a database thread ----------------------------------------

    def apply_config(self, specs: list[ServiceSpec], service_tokens: dict[str, str], *,
                     token_rounds: int) -> None:
        """Make the database's config services exactly ``specs`` (already completed),
        with their tokens and OAuth clients; keep services made through the API.

        ``service_tokens`` maps further tokens to service names ([hub] service_tokens).
        Raises ServiceError (with ``field`` "service_tokens" for a token whose
        service does not exist).
        """
        services: dict[str, Service] = {}
        for spec in specs:
            row = orm.Service.get_or_none(orm.Service.name == spec.name)
            if row is not None and not row.from_config:
                raise ServiceError("name", f"a service named {spec.name!r} was made through "
                                       "the REST API; delete it there or rename this one",
                               spec.name)
            row = _save(row, spec, from_config=True)
            service = Service(row.id, spec, from_config=True, api_token=spec.api_token or None)
            if spec.api_token:
                _ensure_token(row.id, spec.api_token, token_rounds, "from hub.ini", spec.name)
            elif spec.managed:
                # A new one at each start, given to the process; the last one is revoked.
                orm.APIToken.delete().where((orm.APIToken.service == row.id)
                                            & (orm.APIToken.note == GENERATED_NOTE)).execute()
                service.api_token = new_token()
                _ensure_token(row.id, service.api_token, GENERATED_ROUNDS, GENERATED_NOTE,
                              spec.name)
            _define_client(spec, service.api_token)
            services[spec.name] = service
        for token, name in service_tokens.items():
            if name not in services:
                raise ServiceError("service_tokens", f"there is no service {name!r} for a "
                                                     f"token in [hub] service_tokens")
            if len(token) < MIN_TOKEN_LENGTH:
                raise ServiceError("service_tokens", f"a token must have at least "
                                                     f"{MIN_TOKEN_LENGTH} characters")
            _ensure_token(services[name].id, token, token_rounds, "from hub.ini", name,
                          field="service_tokens")
        for row in orm.Service.select().where(orm.Service.from_config
                                              & orm.Service.name.not_in(list(services))):
            log.info("Deleting service %s: it is no longer in hub.ini", row.name)
            _delete(row)
        self._services = services

    def load(self) -> None:
        """Add the services made through the API (call after ``apply_config``)."""
        for row in orm.Service.select().where(~orm.Service.from_config).order_by(
                orm.Service.id):
            self._services[row.name] = Service(row.id, _spec_of(row), from_config=False)

    # -- while running ------------------------------------------------------------------

    async def add(self, spec: ServiceSpec, *, token_rounds: int) -> Service:
        """Create an external service (the REST API); ``spec`` is completed."""
        row = await self.db.run(self._create, spec, token_rounds)
        service = Service(row.id, spec, from_config=False)
        self._services[spec.name] = service
        return service

    def _create(self, spec: ServiceSpec, token_rounds: int) -> orm.Service:
        with orm.Service._meta.database.atomic():
            row = _save(None, spec, from_config=False)
            if spec.api_token:
                _ensure_token(row.id, spec.api_token, token_rounds, "from the REST API",
                              spec.name)
            _define_client(spec, spec.api_token)
        return row

    async def remove(self, service: Service) -> None:
        """Delete the service with its tokens, roles and OAuth client."""
        row = await self.db.run(orm.Service.get_or_none, orm.Service.id == service.id)
        if row is not None:
            await self.db.run(_delete, row)
        self._services.pop(service.name, None)


def _save(row: orm.Service | None, spec: ServiceSpec, *, from_config: bool) -> orm.Service:
    fields = {"admin": spec.admin, "url": spec.url or None, "display": spec.display,
              "info": spec.info, "oauth_client_id": spec.oauth_client_id or None,
              "oauth_redirect_uri": spec.oauth_redirect_uri or None,
              "oauth_no_confirm": spec.oauth_no_confirm,
              "oauth_client_allowed_scopes": list(spec.oauth_client_allowed_scopes)}
    if row is None:
        return orm.Service.create(name=spec.name, from_config=from_config, **fields)
    orm.Service.update(**fields).where(orm.Service.id == row.id).execute()
    return orm.Service.get_by_id(row.id)


def _spec_of(row: orm.Service) -> ServiceSpec:
    return ServiceSpec(
        name=row.name, url=row.url or "", admin=row.admin, display=row.display,
        info=row.info or {}, oauth_client_id=row.oauth_client_id or "",
        oauth_redirect_uri=row.oauth_redirect_uri or "", oauth_no_confirm=row.oauth_no_confirm,
        oauth_client_allowed_scopes=tuple(row.oauth_client_allowed_scopes or ()))


def _define_client(spec: ServiceSpec, secret: str | None) -> None:
    """The service's OAuth client, whose secret is its API token; or none."""
    if not spec.oauth_available:
        orm.OAuthClient.delete().where(
            orm.OAuthClient.identifier == f"service-{spec.name}").execute()
        return
    upsert_client(spec.oauth_client_id, secret=secret,
                  redirect_uri=spec.oauth_redirect_uri,
                  description=f"JupyterHub service {spec.name}",
                  allowed_scopes=list(spec.oauth_client_allowed_scopes),
                  access_scopes=[f"access:services!service={spec.name}"])


def _ensure_token(service_id: int, token: str, rounds: int, note: str, service: str, *,
                  field: str = "api_token") -> None:
    rows = orm.APIToken.select().where(orm.APIToken.prefix == token_prefix(token))
    existing = next((r for r in rows if check_token(token, r.hashed)), None)
    if existing is not None:
        if existing.service_id != service_id:
            raise ServiceError(field, f"a token of service {service!r} already belongs to "
                                      "someone else; give every service its own", service)
        return
    orm.APIToken.create(prefix=token_prefix(token), hashed=hash_token(token, rounds=rounds),
                        service=service_id, note=note, scopes=["inherit"])


def _delete(row: orm.Service) -> None:
    if row.oauth_client_id:
        delete_client(row.oauth_client_id)
    row.delete_instance()


def specs_from_config(config: Config, urls: HubURLs) -> list[ServiceSpec]:
    """The [service:NAME] sections as completed specs; a ConfigError names the key at fault.

    ``command``, ``cwd``, ``environment``, ``user`` and ``timeout`` are declared
    by the ``services`` plugin (which runs managed services); without it they
    cannot be set, and every service is external.
    """
    specs = []
    for name, section in config.collection("service").items():
        allowed = list(section.oauth_client_allowed_scopes)
        if section.oauth_roles and not allowed:
            allowed = _scopes_of_roles(config, section.oauth_roles, name)
        spec = ServiceSpec(
            name=name, url=section.url, api_token=section.api_token, admin=section.admin,
            display=section.display, info=dict(section.info),
            oauth_client_id=section.oauth_client_id,
            oauth_redirect_uri=section.oauth_redirect_uri,
            oauth_no_confirm=section.oauth_no_confirm,
            oauth_client_allowed_scopes=tuple(allowed),
            command=tuple(section.get("command", ())), cwd=section.get("cwd", ""),
            environment=dict(section.get("environment", {})), user=section.get("user", ""),
            timeout=section.get("timeout", 30.0))
        try:
            specs.append(spec.completed(urls))
        except ServiceError as e:
            key = None if e.field == "name" else e.field
            raise config.error(str(e), f"service:{name}", key) from None
    return specs


def _scopes_of_roles(config: Config, names: list[str], service: str) -> list[str]:
    sections = config.collection("role")
    scopes = []
    for role in names:
        if role in sections:
            scopes.extend(sections[role].scopes)
        elif role in BUILTIN_ROLES:
            scopes.extend(builtin_scopes(role))
        else:
            raise config.error(f"there is no role {role!r}", f"service:{service}",
                               "oauth_roles")
    return scopes
