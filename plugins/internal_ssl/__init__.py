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
from kernel.hub import Hub
from kernel.spawner import Spawner
from kernel.tls import InternalTLS
from kernel.users import User
from plugins.internal_ssl.cli import (
    cli_commands,  # noqa: F401 - the hook implementation
    open_store,
)
from plugins.internal_ssl.options import (
    GENERATE_CERTS,
    INTERNAL_SSL,
    OPTIONS,
    SERVER_ALT_NAMES,
    SERVER_ALT_NAMES_INCLUDE_LOCAL,
)

log = logging.getLogger("kernelhub.internal-ssl")


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.declare(*OPTIONS)


@hookimpl
def internal_tls(hub: Hub) -> InternalTLS | None:
    if hub.config[GENERATE_CERTS]:
        store = open_store(hub.config)
        log.info("The internal certificates are ready in %s (generate_certs)", store.location)
        raise SystemExit(0)
    if not hub.config[INTERNAL_SSL]:
        return None
    store = open_store(hub.config)
    log.info("Internal TLS is on; certificates in %s", store.location)
    return store


@hookimpl
async def pre_spawn_start(hub: Hub, user: User, spawner: Spawner) -> None:
    """A fresh certificate for the server, where its process can read it."""
    if hub.tls is None:
        return
    names = list(hub.config[SERVER_ALT_NAMES])
    if spawner.ip and spawner.ip not in ("0.0.0.0", "::"):
        names.append(f"IP:{spawner.ip}" if _is_address(spawner.ip) else f"DNS:{spawner.ip}")
    # Making an RSA key takes some 50 ms: not on the event loop.
    files = await asyncio.to_thread(
        hub.tls.issue, spawner.server.full_name, kind="server", alt_names=names,
        include_local=hub.config[SERVER_ALT_NAMES_INCLUDE_LOCAL])
    spawner.cert_files = await spawner.move_certs(files)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
