"""One run of ``kernel import-db``: read, check, write (unless a dry run), summarize."""

from __future__ import annotations

import os
from pathlib import Path

import click
from tabulate import tabulate

from kernel.cli import SETUP_ERRORS, fail, load_or_exit
from kernel.hub import Hub
from kernel.restore import Tally, existing_records, restore
from kernel.security.auth_state import KEY_VARIABLE, AuthStateCrypt
from plugins.import_db.read import SHARE_CODES, SHARES, JupyterHubData, read
from plugins.import_db.shares import restore_shares
from plugins.import_db.source import SourceError, open_read_only


class ImportRefused(Exception):
    """The import would be wrong as things stand; the message says what to do first."""


def run(url: str, config_file: str | None, *, merge: bool, dry_run: bool) -> None:
    loaded = load_or_exit(config_file)
    if same_database(url, loaded.config.hub.db_url):
        fail(ImportRefused("URL is both the JupyterHub database and hub.ini's [hub] db_url: "
                           "point db_url at a new database for kernelhub"))
    crypt = AuthStateCrypt.from_environment() if os.environ.get(KEY_VARIABLE) else None
    try:
        with open_read_only(url) as source:
            data = read(source, crypt)
        refuse_running(data)
        hub = Hub(loaded)
        try:
            tallies = hub.db.call(write, hub, data, merge=merge, dry_run=dry_run,
                                  sharing=loaded.plugins.infos["sharing"].active)
        finally:
            hub.db.close()
    except (SourceError, ImportRefused, *SETUP_ERRORS) as e:
        fail(e)
    click.echo(f"JupyterHub database at schema revision {data.revision}")
    click.echo(summary(tallies))
    if dry_run:
        click.echo("Dry run: nothing was written.")
    else:
        click.echo(f"Imported into {hub.db.url.split('://')[0]}; start the hub with "
                   "`kernel serve`.")


def same_database(source: str, target: str) -> bool:
    """Whether two database URLs (SQLAlchemy or peewee form) name the same database."""
    def normal(url: str) -> str:
        scheme, _, rest = url.partition("://")
        scheme = scheme.split("+", 1)[0]
        scheme = {"postgres": "postgresql", "mariadb": "mysql"}.get(scheme, scheme)
        if scheme == "sqlite":
            rest = str(Path(rest.removeprefix("/")).resolve())
        return f"{scheme}://{rest}"

    return normal(source) == normal(target)


def refuse_running(data: JupyterHubData) -> None:
    if data.running:
        names = ", ".join(sorted(data.running))
        raise ImportRefused(
            f"JupyterHub still has {len(data.running)} server(s) running ({names}): stop "
            "them first, from JupyterHub's admin page or `curl -X DELETE -H 'Authorization: "
            "token ADMIN_TOKEN' http://HUB/hub/api/users/NAME/server` (…/servers/SERVER for "
            "named ones), then stop JupyterHub and import again")


def write(hub: Hub, data: JupyterHubData, *, merge: bool, dry_run: bool,
          sharing: bool) -> list[Tally]:
    """Prepare kernelhub's database and write ``data`` (on the database thread); a dry run
    writes inside a transaction that is rolled back."""
    there = existing_records()
    if there and not merge:
        found = ", ".join(f"{n} {kind}" for kind, n in there.items())
        raise ImportRefused(f"kernelhub's database (hub.ini's [hub] db_url) already has "
                            f"{found}: import with --merge to add to them, or point db_url "
                            "at a new database")
    hub.prepare_database()
    with hub.db.atomic() as transaction:
        tallies = restore(data.snapshot)
        shares = Tally.of(SHARES, data.snapshot.left_out)
        if sharing:
            restore_shares(data.shares, shares)
        elif data.shares:
            shares.skip("the sharing plugin is off")
        tallies += [shares, Tally.of(SHARE_CODES, data.snapshot.left_out)]
        if dry_run:
            transaction.rollback()
    return tallies


def summary(tallies: list[Tally]) -> str:
    rows = []
    for tally in tallies:
        reasons = [f"{n} {reason}" for reason, n in tally.skipped.items()]
        rows.append([tally.kind, tally.imported, sum(tally.skipped.values()),
                     "; ".join(reasons)])
    return tabulate(rows, headers=["", "imported", "left out", "why left out"])
