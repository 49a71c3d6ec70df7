"""The `internal-ssl` plugin: mutual TLS between the hub, the proxy, servers and services.

With ``[hub] plugins = internal-ssl`` and ``[hub] internal_ssl = true`` every
internal connection is encrypted and both ends prove who they are, with the
certificate authorities and trust bundles JupyterHub uses, kept in
``internal_certs_location`` (``certs.py``). The plugin answers the kernel's
``internal_tls`` hook with its store, so the hub listens over HTTPS, presents
its certificate everywhere and gives the proxy its own (see ``kernel.tls``);
in ``pre_spawn_start`` it gives each server a fresh certificate for the
addresses it is reached at. ``kernel generate-certs`` (``cli.py``) prepares
the store and exits.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging

from kernel import hookimpl
from kernel.config import OptionRegistry
from kernel.config.types import Boolean, Table, Text, TextList
from kernel.hub import Hub
from kernel.spawner import Spawner
from kernel.tls import InternalTLS
from kernel.users import User
from plugins.internal_ssl.cli import (
    AUTHORITY_SECTION,
    cli_commands,  # noqa: F401 - the hook implementation
    open_store,
)

log = logging.getLogger("kernelhub.internal-ssl")


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.add("hub", "internal_ssl", Boolean(), False,
                "Encrypt and mutually authenticate every internal connection: the hub, the "
                "proxy's API and its connections, servers and managed services.")
    options.add("hub", "internal_certs_location", Text(), "internal-ssl",
                "Where the internal certificate authorities and certificates are kept.")
    options.add("hub", "generate_certs", Boolean(), False,
                "Create (or renew) the internal certificates, then exit instead of serving "
                "(as `kernel generate-certs`).")
    options.add("hub", "recreate_internal_certs", Boolean(), False,
                "Issue every internal certificate anew at start-up. The authorities keep "
                "their keys, so servers started before keep working until they restart; "
                "delete internal_certs_location to replace the authorities too.")
    options.add("hub", "trusted_alt_names", TextList(), [],
                "Extra names in the hub's and the proxy's certificates (DNS:host, IP:addr), "
                "for a hub reached by another name.")
    options.add("hub", "external_ssl_authorities", Table(), {},
                "Certificate authorities managed outside the hub.",
                unavailable=f"write one [{AUTHORITY_SECTION}:NAME] section per authority")
    section = f"{AUTHORITY_SECTION}:*"
    options.add(section, "cert", Text(), "",
                "The authority's certificate (PEM), for NAME one of hub-ca, notebooks-ca, "
                "proxy-api-ca, proxy-client-ca, services-ca (or another, trusted by the hub).")
    options.add(section, "key", Text(), "",
                "Its private key, when the hub should sign with it; without it, the "
                "authority is trusted but signs nothing.")
    options.add(section, "ca", Text(), "", "The authority that signed it, if any.")
    options.add("spawner", "ssl_alt_names", TextList(), [],
                "Extra names in each server's certificate (DNS:host, IP:addr), for servers "
                "reached by another name than their address.")
    options.add("spawner", "ssl_alt_names_include_local", Boolean(), True,
                "Also put localhost and 127.0.0.1 in each server's certificate.")


@hookimpl
def internal_tls(hub: Hub) -> InternalTLS | None:
    options = hub.config.hub
    if options.generate_certs:
        store = open_store(hub.config)
        log.info("The internal certificates are ready in %s (generate_certs)", store.location)
        raise SystemExit(0)
    if not options.internal_ssl:
        return None
    store = open_store(hub.config)
    log.info("Internal TLS is on; certificates in %s", store.location)
    return store


@hookimpl
async def pre_spawn_start(hub: Hub, user: User, spawner: Spawner) -> None:
    """A fresh certificate for the server, where its process can read it."""
    if hub.tls is None:
        return
    options = hub.config.spawner
    names = list(options.ssl_alt_names)
    if spawner.ip and spawner.ip not in ("0.0.0.0", "::"):
        names.append(f"IP:{spawner.ip}" if _is_address(spawner.ip) else f"DNS:{spawner.ip}")
    # Making an RSA key takes some 50 ms: not on the event loop.
    files = await asyncio.to_thread(
        hub.tls.issue, spawner.server.full_name, kind="server", alt_names=names,
        include_local=options.ssl_alt_names_include_local)
    spawner.cert_files = await spawner.move_certs(files)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
