"""`kernel generate-certs`: create or renew the internal-ssl certificates and exit.

JupyterHub's ``jupyterhub --generate-certs``. The store is the one
``[hub] internal_certs_location`` names, made as the hub makes it at
start-up (``open_store``), so certificates can be made ahead of time, for
example to hand them to an external proxy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kernel import hookimpl
from kernel.cli import config_option, fail, load_or_exit
from plugins.internal_ssl.certs import CertificateError, CertificateStore
from plugins.internal_ssl.options import (
    AUTHORITY_CA,
    AUTHORITY_CERT,
    AUTHORITY_KEY,
    AUTHORITY_SECTION,
    CERTS_LOCATION,
    INTERNAL_SSL,
    RECREATE_CERTS,
    TRUSTED_ALT_NAMES,
)

if TYPE_CHECKING:
    from kernel.config.values import Config


def open_store(config: Config, *, recreate: bool | None = None) -> CertificateStore:
    """The certificate store hub.ini describes, brought up to date.

    ``recreate`` defaults to ``[hub] recreate_internal_certs``. Raises
    ``CertificateError`` for a bad file and ``ValueError`` for a bad alt name.
    """
    authorities = {
        name: {key.name: section[key] for key in (AUTHORITY_KEY, AUTHORITY_CERT, AUTHORITY_CA)
               if section[key]}
        for name, section in config.collection(AUTHORITY_SECTION).items()
    }
    store = CertificateStore(config[CERTS_LOCATION],
                             trusted_alt_names=config[TRUSTED_ALT_NAMES],
                             subdomain_host=config.hub.subdomain_host,
                             external_authorities=authorities)
    return store.prepare(recreate=config[RECREATE_CERTS] if recreate is None else recreate)


@hookimpl
def cli_commands(cli: click.Group) -> None:
    cli.add_command(generate_certs)


@click.command("generate-certs")
@config_option
def generate_certs(config_file: str | None) -> None:
    """Create the internal-ssl certificates (or renew them) and exit."""
    config = load_or_exit(config_file).config
    try:
        store = open_store(config)
    except (CertificateError, ValueError) as e:
        fail(e)
    for name, action in store.actions.items():
        click.echo(f"{action:>11}  {name}")
    click.echo(f"Certificates written to {store.location}")
    if not config[INTERNAL_SSL]:
        click.secho("Set `[hub] internal_ssl = true` in hub.ini to use them.", err=True,
                    fg="yellow")
