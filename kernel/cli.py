"""The `kernel` command line: serve, token, generate-config and the others, and plugins' own.

Each command reads hub.ini from ``-c FILE``, else ``$KERNELHUB_CONFIG``, else
``hub.ini`` in the working directory if there is one, else runs on the
built-in defaults. Enabled plugins add their own commands through the
``cli_commands`` hook.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import NoReturn

import click

from kernel import __version__
from kernel.config.errors import ConfigError
from kernel.config.loader import Loaded, load
from kernel.db.database import DatabaseError
from kernel.db.schema import SchemaError
from kernel.hookcall import HookRunner, PluginError
from kernel.security.auth_state import AuthStateError
from kernel.security.cookie_secret import SecretError

#: Errors that mean "fix your setup", printed without a traceback.
SETUP_ERRORS = (ConfigError, DatabaseError, SchemaError, SecretError, AuthStateError,
                PluginError)

config_option = click.option(
    "-c", "--config", "config_file", type=click.Path(dir_okay=False), envvar="KERNELHUB_CONFIG",
    help="The hub.ini to read (default: ./hub.ini if it exists, else built-in defaults).",
)


def config_path(config_file: str | None) -> str | None:
    if config_file:
        return config_file
    return "hub.ini" if Path("hub.ini").is_file() else None


def load_or_exit(config_file: str | None) -> Loaded:
    try:
        return load(config_path(config_file))
    except ConfigError as e:
        fail(e)


def fail(error: BaseException) -> NoReturn:
    click.secho(f"kernel: {error}", err=True, fg="red")
    sys.exit(2 if isinstance(error, ConfigError) else 1)


def _config_in(args: list[str]) -> str | None:
    """The file a command's ``-c FILE`` / ``--config FILE`` names, before click parses it."""
    for i, arg in enumerate(args):
        if arg in ("-c", "--config") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--config="):
            return arg.partition("=")[2]
        if arg.startswith("-c") and len(arg) > 2 and not arg.startswith("--"):
            return arg[2:]
    return None


def _first_paragraph(text: str) -> str:
    return " ".join(text.strip().split("\n\n")[0].split())


class KernelGroup(click.Group):
    """The `kernel` group: built-in commands, plus those of the enabled plugins on demand.

    A plugin's command exists when the hub.ini of the command line enables the plugin
    (``kernel generate-certs -c hub.ini``), so ``-c`` is looked at before the command
    is resolved.
    """

    _plugins_added = False
    _config_file: str | None = None

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        self._config_file = _config_in(args[1:])
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Whole first sentences, wrapped, rather than cut at the terminal's width.
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.short_help and command.help:
                command.short_help = _first_paragraph(command.help)
        super().format_commands(ctx, formatter)

    def _add_plugin_commands(self) -> None:
        if self._plugins_added:
            return
        self._plugins_added = True
        try:
            loaded = load(config_path(self._config_file
                                      or os.environ.get("KERNELHUB_CONFIG")))
        except ConfigError as e:
            # The default plugins' commands stay usable, among them `kernel import-config`,
            # which may be what writes a working hub.ini; `serve` reports the error.
            click.secho(f"kernel: {e}\nkernel: offering the default plugins' commands",
                        err=True, fg="yellow")
            loaded = load()
        try:
            add_plugin_commands(self, loaded)
        except PluginError as e:
            fail(e)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._add_plugin_commands()
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return super().list_commands(ctx)


def add_plugin_commands(group: click.Group, loaded: Loaded) -> None:
    """Let each enabled plugin add its commands to ``group`` (the ``cli_commands`` hook).

    A plugin that takes a name already in use (a built-in command's or another
    plugin's) is an error naming it, rather than silently replacing it.
    """
    HookRunner(loaded.plugins.manager).cli_commands(
        cli=group, around=partial(_only_new_commands, group))


@contextmanager
def _only_new_commands(group: click.Group, plugin: str) -> Iterator[None]:
    """Around one plugin's ``cli_commands``: refuse a replaced command, credit new ones."""
    before = dict(group.commands)
    yield
    for name, command in group.commands.items():
        if name in before and before[name] is not command:
            raise ValueError(f"the command name {name!r} is already taken")
        if name not in before:
            command.help = (command.help or "") + f"\n\n(From plugin {plugin}.)"


@click.group(cls=KernelGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kernelhub")
def cli() -> None:
    """kernelhub: a multi-user Jupyter hub."""


@cli.command()
@config_option
def serve(config_file: str | None) -> None:
    """Start the hub (and its proxy) and serve until interrupted."""
    from kernel.serve import StartupFailed
    from kernel.serve import serve as run

    loaded = load_or_exit(config_file)
    try:
        run(loaded)
    except (*SETUP_ERRORS, StartupFailed) as e:
        fail(e)


@cli.command("generate-config")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="hub.ini",
              show_default=True, help="Where to write; `-` prints it.")
@click.option("-y", "--yes", is_flag=True, help="Overwrite an existing file without asking.")
@config_option
def generate_config(output: str, yes: bool, config_file: str | None) -> None:
    """Write a hub.ini with every option, commented, at its default."""
    from kernel.config.generate import all_declarations
    from kernel.config.generate import generate_config as generate

    text = generate(all_declarations())
    answer_yes = yes
    if not answer_yes and output != "-" and config_file:
        # Only a config named with -c: ./hub.ini may be the target.
        answer_yes = load_or_exit(config_file).config.hub.answer_yes
    if write_output(text, output, yes=answer_yes):
        click.echo(f"Wrote {output}")


def write_output(text: str, output: str, *, yes: bool) -> bool:
    """Print ``text`` (``output`` is ``-``) or write it to the file ``output``, asking before
    overwriting one unless ``yes``; True when a file was written."""
    if output == "-":
        click.echo(text, nl=False)
        return False
    target = Path(output)
    if target.exists() and not yes and not click.confirm(
            f"{target} exists. Overwrite it?", default=False):
        click.echo("Nothing written.")
        return False
    target.write_text(text)
    return True


@cli.command()
@config_option
def plugins(config_file: str | None) -> None:
    """List installed plugins: active or not and why, their hooks and options."""
    from kernel.config.generate import all_declarations
    from kernel.db import plugin_data

    loaded = load_or_exit(config_file)
    registry = all_declarations()
    stored = plugin_data.collect(loaded.plugins.manager)
    for info in loaded.plugins.infos.values():
        state = click.style("active", fg="green") if info.active else "inactive"
        dist = f"{info.distribution} {info.version}" if info.distribution else "?"
        click.echo(f"{click.style(info.name, bold=True)}  ({dist}, {info.entry_point})")
        click.echo(f"    {state}: {info.reason}")
        if info.hooks:
            click.echo(f"    hooks: {', '.join(info.hooks)}")
        options = [o for o in registry.owned_by(info.name)]
        if options:
            names = ", ".join(f"[{o.section.replace(':*', ':NAME')}] {o.name}" for o in options)
            click.echo(f"    options: {names}")
        if info.name in stored:
            data = stored[info.name]
            tables = ", ".join(model._meta.table_name for model in data.models)
            click.echo(f"    stored data: schema version {data.version} ({tables})")


@cli.command()
@click.argument("username", required=False)
@config_option
def token(username: str | None, config_file: str | None) -> None:
    """Print a new API token for USERNAME (default: you), as `jupyterhub token`."""
    import asyncio
    import getpass

    from kernel.hub import Hub

    name = username or getpass.getuser()
    loaded = load_or_exit(config_file)
    try:
        hub = Hub(loaded)
        hub.prepare_database()  # as at start-up: hub.ini's admins and tokens are in
    except SETUP_ERRORS as e:
        fail(e)
    try:
        user = hub.users.get(name)
        if user is None:
            click.echo(f"No such user: {name}", err=True)
            sys.exit(1)
        secret, _ = asyncio.run(hub.tokens.issue(user_id=user.id, scopes=["inherit"],
                                                 note="command-line generated"))
    finally:
        hub.db.close()
    click.echo(secret)


@cli.command("upgrade-db")
@config_option
def upgrade_db(config_file: str | None) -> None:
    """Upgrade the database schema (SQLite files are backed up first)."""
    from kernel.db import plugin_data, schema
    from kernel.db.database import Database

    loaded = load_or_exit(config_file)
    options = loaded.config.hub
    try:
        stored = plugin_data.collect(loaded.plugins.manager)
        db = Database(options.db_url, options.db_kwargs)
        db.bind(model for data in stored.values() for model in data.models)
        steps = db.call(schema.upgrade, db.peewee, stored)
    except SETUP_ERRORS as e:
        fail(e)
    db.close()
    if steps:
        for step in steps:
            click.echo(f"Upgraded to schema version {step}")
    else:
        click.echo("The database is up to date.")


def main() -> None:
    cli()
