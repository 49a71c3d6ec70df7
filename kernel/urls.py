"""The hub's addresses: where the public proxy and the hub listen, and how others reach the hub.

With ``subdomain_host`` (``https://hub.example.org``) each user's servers
are served on a host of their own (``https://alice.hub.example.org/user/alice/``)
and each service on its own (``https://culler--service.hub.example.org``), as
JupyterHub's default ``idna`` subdomain hook names them: browsers then keep
one server's cookies and scripts away from another's.
"""

from __future__ import annotations

import hashlib
import re
import socket
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlsplit

import idna

from kernel.config.values import Config

_ANY_ADDRESS = ("", "0.0.0.0", "::")


@dataclass(frozen=True)
class HubURLs:
    #: The prefix of everything, e.g. "/" or "/jupyter/".
    base_url: str
    #: The public side, where the proxy listens.
    public_scheme: str
    public_ip: str
    public_port: int
    #: Where the hub's own web server listens.
    hub_bind_ip: str
    hub_bind_port: int
    #: How the proxy, servers and services reach the hub: scheme://host:port, no path.
    hub_connect: str
    #: ``[hub] subdomain_host`` as scheme://host[:port], or "" without subdomains.
    subdomain_host: str = ""

    @property
    def domain(self) -> str:
        """The host name under which users and services get theirs ("" without)."""
        return urlsplit(self.subdomain_host).hostname or ""

    def domain_of(self, name: str, kind: Literal["user", "service"]) -> str:
        """The host name of a user's servers or a service, or "" without subdomains."""
        return subdomain(name, self.domain, kind) if self.subdomain_host else ""

    def origin_of(self, name: str, kind: Literal["user", "service"]) -> str:
        """Where a user's servers or a service are served (scheme://host[:port]), or ""
        without subdomains: their URLs are then paths on the hub's own origin."""
        if not self.subdomain_host:
            return ""
        parts = urlsplit(self.subdomain_host)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{self.domain_of(name, kind)}{port}"

    @property
    def hub_prefix(self) -> str:
        """The hub's URL path, e.g. /hub/."""
        return f"{self.base_url}hub/"

    @property
    def hub_api_url(self) -> str:
        """The hub's REST API as servers reach it (JUPYTERHUB_API_URL)."""
        return f"{self.hub_connect}{self.hub_prefix}api"

    @property
    def hub_target(self) -> str:
        """The proxy's target for the hub route."""
        return self.hub_connect

    @property
    def public_url(self) -> str:
        """The address people open, for printing; a wildcard ip shows as localhost."""
        host = "localhost" if self.public_ip in _ANY_ADDRESS else self.public_ip
        if ":" in host:
            host = f"[{host}]"
        default = {"http": 80, "https": 443}.get(self.public_scheme)
        port = "" if self.public_port == default else f":{self.public_port}"
        return f"{self.public_scheme}://{host}{port}{self.base_url}"


def hub_urls(config: Config, *, internal_tls: bool = False) -> HubURLs:
    """Work out the addresses from [hub], with JupyterHub's precedence rules.

    ``bind_url`` gives scheme, ip, port and base_url; ``ip``, ``port`` and
    ``base_url`` override its parts when they are set. ``hub_bind_url``
    overrides ``hub_ip``/``hub_port``; ``hub_connect_url`` overrides
    ``hub_connect_ip``, which defaults to ``hub_ip`` (or the host name when
    the hub listens on every interface), and ``hub_connect_port`` (deprecated),
    which defaults to the port the hub listens on. With internal TLS, the hub is
    reached over https.
    """
    hub = config.hub
    bind = urlsplit(hub.bind_url)
    base_url = hub.base_url if hub.is_set("base_url") else _prefix(bind.path)
    public_ip = hub.ip if hub.is_set("ip") else (bind.hostname or "")
    public_port = hub.port if hub.is_set("port") or not bind.port else bind.port
    public_scheme = "https" if hub.ssl_cert else (bind.scheme or "http")

    if hub.hub_bind_url:
        hub_bind = urlsplit(hub.hub_bind_url)
        hub_ip, hub_port = hub_bind.hostname or "", hub_bind.port or hub.hub_port
    else:
        hub_ip, hub_port = hub.hub_ip, hub.hub_port

    if hub.hub_connect_url:
        connect = hub.hub_connect_url.rstrip("/")
        path = urlsplit(connect).path
        connect = connect[: len(connect) - len(path)] if path else connect
    else:
        host = hub.hub_connect_ip or (socket.gethostname() if hub_ip in _ANY_ADDRESS else hub_ip)
        if ":" in host:
            host = f"[{host}]"
        connect_port = hub.hub_connect_port or hub_port
        connect = f"{'https' if internal_tls else 'http'}://{host}:{connect_port}"
    subdomain_host = hub.subdomain_host.rstrip("/")
    if urlsplit(subdomain_host).path or urlsplit(subdomain_host).query:
        raise config.error("a host such as https://hub.example.org, with no path: the "
                           "hub's path is base_url", "hub", "subdomain_host")
    return HubURLs(base_url=base_url, public_scheme=public_scheme, public_ip=public_ip,
                   public_port=public_port, hub_bind_ip=hub_ip, hub_bind_port=hub_port,
                   hub_connect=connect, subdomain_host=subdomain_host)


def _prefix(path: str) -> str:
    path = path.strip("/")
    return f"/{path}/" if path else "/"


def escape_path_segment(name: str) -> str:
    """A user or server name as one URL path segment, escaped as JupyterHub escapes it.

    ``@`` and ``~`` stay as they are (``/user/ann@example.org/``), so that e-mail
    usernames get the same server URLs as under JupyterHub; everything else that is
    not unreserved, ``/`` included, is escaped. (OAuth client ids, which are cookie
    names too, escape ``@`` as well: see ``kernel.server_credentials.oauth_client_id``.)
    """
    return quote(name, safe="@~")


def subdomain(name: str, domain: str, kind: Literal["user", "service"]) -> str:
    """The host name of a user's servers or a service: JupyterHub 5+'s ``idna`` hook.

    A name that is already one safe DNS label is used as it is (``alice``); one
    that IDNA can encode is encoded (``xn--ni-wka`` for ``üni``); anything else,
    and any name containing ``--`` (which encoded names contain), becomes
    ``u-`` + its first 8 safe characters + ``--`` + a hash, so that no two names
    share a host. Services get ``--service`` after the label.
    """
    suffix = "" if kind == "user" else f"--{kind}"
    return f"{dns_label(name)}{suffix}.{domain}"


_DNS_LABEL = re.compile(r"[a-z0-9-]{1,63}", re.IGNORECASE)
_STRICT_SAFE = set("abcdefghijklmnopqrstuvwxyz0123456789")


def dns_label(name: str) -> str:
    """``name`` as one DNS label, the way JupyterHub's ``idna`` subdomain hook encodes it."""
    if "--" not in name:
        if _is_dns_label(name):
            return name
        try:
            encoded = idna.encode(name).decode("ascii")
        except idna.IDNAError:
            encoded = ""
        if encoded and encoded != name and _is_dns_label(encoded):
            return encoded
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:7]
    stub = "".join(c for c in name.lower() if c in _STRICT_SAFE)[:8] or "x"
    return f"u-{stub}--{digest}"


def _is_dns_label(label: str) -> bool:
    return (not label.isnumeric() and not label.startswith("-") and not label.endswith("-")
            and _DNS_LABEL.fullmatch(label) is not None)
