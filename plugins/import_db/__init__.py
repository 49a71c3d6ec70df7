"""The `import-db` plugin: ``kernel import-db URL``, a JupyterHub database moved into kernelhub.

On by default (``no:import-db`` in ``[hub] plugins`` turns it off). Reading the
source is ``source.py`` and ``read.py``; writing is ``kernel.restore`` (the
kernel's tables) and ``shares.py`` (the sharing plugin's); this module adds
the command and prints the summary.
"""

from __future__ import annotations

import click

from kernel import hookimpl


@hookimpl
def cli_commands(cli: click.Group) -> None:
    cli.add_command(import_db)


@click.command("import-db")
@click.argument("url")
@click.option("--merge", is_flag=True,
              help="Import into a kernelhub database that already has users, groups or "
                   "tokens (what is there already is kept).")
@click.option("--dry-run", is_flag=True, help="Read and summarize; write nothing.")
@click.option("-c", "--config", "config_file", type=click.Path(dir_okay=False),
              envvar="KERNELHUB_CONFIG", help="The hub.ini whose db_url receives the import.")
def import_db(url: str, merge: bool, dry_run: bool, config_file: str | None) -> None:
    """Import users, groups, roles, tokens, shares and servers from a JupyterHub database.

    URL is JupyterHub's db_url (sqlite:///jupyterhub.sqlite, postgresql://…,
    mysql://…); it is opened read-only. JupyterHub must be stopped, with no
    server running.
    """
    from plugins.import_db.run import run

    run(url, config_file, merge=merge, dry_run=dry_run)
