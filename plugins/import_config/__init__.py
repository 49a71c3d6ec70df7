"""The `import-config` plugin: ``kernel import-config``, a JupyterHub config made into hub.ini.

On by default (``no:import-config`` in ``[hub] plugins`` turns it off). The
translation itself is ``translate.py``; this module only adds the command.
"""

from __future__ import annotations

import click

from kernel import hookimpl


@hookimpl
def cli_commands(cli: click.Group) -> None:
    cli.add_command(import_config)


@click.command("import-config")
@click.argument("jupyterhub_config", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="hub.ini",
              show_default=True, help="Where to write; `-` prints it.")
@click.option("-y", "--yes", is_flag=True, help="Overwrite an existing file without asking.")
def import_config(jupyterhub_config: str, output: str, yes: bool) -> None:
    """Translate a jupyterhub_config.py into hub.ini, naming what cannot be translated."""
    from kernel.cli import fail, write_output
    from kernel.config.errors import ConfigError
    from kernel.config.generate import all_declarations
    from plugins.import_config.translate import record, translate

    try:
        recorded = record(jupyterhub_config)
    except Exception as e:  # the file is Python: anything can go wrong in it
        fail(ConfigError(f"running it failed: {type(e).__name__}: {e}",
                         file=jupyterhub_config))
    translation = translate(recorded, all_declarations())
    text = translation.to_ini(jupyterhub_config)
    for item in translation.skipped:
        click.secho(f"not translated: {item}", err=True, fg="yellow")
    if write_output(text, output, yes=yes):
        click.echo(f"Wrote {output}; check it with `kernel plugins -c {output}`")
