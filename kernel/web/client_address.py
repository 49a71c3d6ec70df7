"""The address of the client behind a request, as far as the proxies in front are trusted."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(addresses: Iterable[str]) -> list[Network]:
    """[hub] trusted_downstream_ips as networks."""
    return [ipaddress.ip_network(a, strict=False) for a in addresses]


def client_address(peer: str | None, forwarded_for: Sequence[str],
                   trusted: Sequence[Network]) -> str:
    """The client: the right-most X-Forwarded-For entry that is not a trusted proxy.

    The hub's direct peer is its own proxy (on loopback) or a trusted
    address, so entries are read from the right, skipping trusted ones; the
    first untrusted one is the client. Entries further left were written by
    the client itself and prove nothing.
    """
    chain = [a.strip() for value in forwarded_for for a in value.split(",") if a.strip()]
    chain.append(peer or "-")
    for address in reversed(chain):
        if not _trusted(address, trusted):
            return address
    return chain[0]


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_loopback or any(ip in network for network in trusted)
