"""The address of the client behind a request, as far as the proxies in front are trusted.

Who may say where a request came from (``X-Forwarded-For``)?

- The hub's own proxy, but only on a request it provably forwarded. Its
  connection comes from loopback, and so do the connections of users'
  servers on the same machine, so the peer address cannot tell them apart.
  Instead the hub's route in the proxy targets a secret path
  (``http://127.0.0.1:8081/_proxy-hop/<secret>``); the proxy, CHP and
  kernel-proxy alike, prepends it to every request it forwards to the hub
  (CHP's prependPath), and the hub strips it again (``ProxyHop``). A
  request with it came through the proxy; one without it did not, whatever
  its headers say. The secret is derived from the cookie secret: only the
  hub and the proxy's routing table know it, never a user's server.
- ``[hub] trusted_downstream_ips``: the operator's front proxies (nginx,
  traefik) in front of the hub's proxy, or connecting to the hub directly.

Loopback is no longer trusted for being loopback: list it in
``trusted_downstream_ips`` only if nothing but a proxy can connect from it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable, MutableMapping, Sequence
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The first segment of the hub route's target path; the secret follows.
PROXY_HOP_SEGMENT = "_proxy-hop"


def trusted_networks(addresses: Iterable[str]) -> list[Network]:
    """[hub] trusted_downstream_ips as networks."""
    return [ipaddress.ip_network(a, strict=False) for a in addresses]


def client_address(peer: str | None, forwarded_for: Sequence[str],
                   trusted: Sequence[Network], *, via_proxy: bool = False) -> str:
    """The client: the right-most X-Forwarded-For entry that no trusted hop wrote.

    The peer's own entries count only when the peer is the hub's proxy
    (``via_proxy``, see ``ProxyHop``) or a trusted downstream proxy; from
    anyone else X-Forwarded-For is ignored and the peer is the client, so
    rotating the header gains nothing. Reading from the right, each entry
    was written by the hop after it; entries written by trusted front
    proxies are followed further left, and the first untrusted one is the
    client. Entries further left were written by the client itself and prove
    nothing.
    """
    peer = peer or "-"
    if not via_proxy and not _trusted(peer, trusted):
        return peer
    chain = [a.strip() for value in forwarded_for for a in value.split(",") if a.strip()]
    if not chain:
        return peer
    # The right-most entry is the proxy's peer, written by the proxy (or by a trusted
    # peer): believed. Further left, only as long as each hop is trusted.
    for address in reversed(chain):
        if not _trusted(address, trusted):
            return address
    return chain[0]


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


class ProxyHop:
    """The secret path prefix the hub's proxy adds to what it forwards to the hub."""

    def __init__(self, cookie_secret: bytes) -> None:
        # Derived, not random: stable across hub restarts, so a proxy that outlives
        # the hub keeps forwarding with a prefix the new hub accepts.
        secret = hmac.new(cookie_secret, b"kernelhub proxy hop", hashlib.sha256).hexdigest()
        self._prefix = f"/{PROXY_HOP_SEGMENT}/{secret[:40]}"
        self._prefix_bytes = self._prefix.encode()

    def target(self, hub_url: str) -> str:
        """The proxy's target for the hub route: the hub's URL with the secret path."""
        return hub_url.rstrip("/") + self._prefix

    def redact(self, text: str) -> str:
        """``text`` with the secret replaced, for logs and events."""
        return text.replace(self._prefix, f"/{PROXY_HOP_SEGMENT}/[secret]")

    def admit(self, scope: MutableMapping[str, Any]) -> bool:
        """Whether the proxy forwarded this request; if so, the prefix leaves its path."""
        path: str = scope.get("path", "")
        cut = len(self._prefix)
        if not (path[cut:cut + 1] == "/"
                and hmac.compare_digest(path[:cut].encode("utf-8", "surrogatepass"),
                                        self._prefix_bytes)):
            return False
        scope["path"] = path[cut:]
        raw_path = scope.get("raw_path")
        if raw_path and raw_path.startswith(self._prefix_bytes):
            scope["raw_path"] = raw_path[cut:]
        return True
