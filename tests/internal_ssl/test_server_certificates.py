"""A starting server gets its own certificate from the internal-ssl plugin (pre_spawn_start),
valid for the names [spawner] ssl_alt_names and ssl_alt_names_include_local say: real
certificates, checked in real TLS handshakes as the proxy connects to servers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from kernel.hub import Hub
from kernel.spawner import Spawner
from kernel.testing.pytest_plugin import Ini
from tests.internal_ssl.helpers import handshake


def prepared_spawner(build_hub: Callable[[Ini], Hub], certs: Path, *,
                     include_local: bool) -> tuple[Hub, Spawner]:
    """A hub with internal TLS on, and alice's spawner after pre_spawn_start ran for it."""
    hub = build_hub({
        "hub": {"plugins": "internal-ssl", "internal_ssl": "true",
                "internal_certs_location": str(certs)},
        "spawner": {"ssl_alt_names": "DNS:alice.servers.test",
                    "ssl_alt_names_include_local": str(include_local).lower()},
    })
    hub.prepare_database()

    async def before_start() -> Spawner:
        user = await hub.users.add("alice")
        spawner = hub.new_spawner(await hub.users.server(user))
        # Reached by a name of its own, so that only include_local can add the local names.
        spawner.ip = "alice.local.test"
        await hub.hooks.pre_spawn_start(user=user, spawner=spawner)
        return spawner

    return hub, asyncio.run(before_start())


def test_a_servers_certificate_names_its_address_the_alt_names_and_localhost(build_hub,
                                                                             tmp_path):
    hub, spawner = prepared_spawner(build_hub, tmp_path / "certs", include_local=True)
    assert hub.tls is not None and spawner.cert_files is not None
    for name in ("alice.local.test", "alice.servers.test", "localhost", "127.0.0.1"):
        assert handshake(hub.tls.proxy_client, spawner.cert_files, server_hostname=name), name


def test_without_include_local_a_servers_certificate_leaves_out_localhost(build_hub, tmp_path):
    hub, spawner = prepared_spawner(build_hub, tmp_path / "certs", include_local=False)
    assert hub.tls is not None and spawner.cert_files is not None
    assert handshake(hub.tls.proxy_client, spawner.cert_files,
                     server_hostname="alice.servers.test")
    assert not handshake(hub.tls.proxy_client, spawner.cert_files, server_hostname="localhost")
    assert not handshake(hub.tls.proxy_client, spawner.cert_files, server_hostname="127.0.0.1")
