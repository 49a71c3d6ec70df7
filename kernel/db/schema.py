"""Schema versions: new databases start at the current version; old ones upgrade step by step.

A new (empty) database gets every table of ``kernel.db.models`` and is
stamped with ``SCHEMA_VERSION``. A database stamped with an older version is
upgraded by the migrations in ``kernel.db.migrations``, one version at a
time, each in a transaction where the engine allows. The hub refuses to start
on a database that is behind (and says how to upgrade), ahead (a newer
kernelhub wrote it) or not a kernelhub database at all. The enabled plugins'
own tables (``kernel.db.plugin_data``) follow the same rules, each plugin at
a version of its own, so the functions here take what the plugins store.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import peewee as pw

from kernel.db import models as orm
from kernel.db import plugin_data
from kernel.db.database import in_memory, keep_owner_only
from kernel.db.migrations import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger("kernelhub.db")


class SchemaError(Exception):
    """The database's schema cannot be used as it is; the message says what to do."""


def stored_version(db: pw.Database) -> int | None:
    """The version stamped in the database; None when the database is empty."""
    tables = set(db.get_tables())
    if orm.SchemaVersion._meta.table_name in tables:
        row = orm.SchemaVersion.select().order_by(orm.SchemaVersion.version.desc()).first()
        return row.version if row else 0
    if not tables:
        return None
    if "alembic_version" in tables:
        raise SchemaError("this is a JupyterHub database (it has an alembic_version table); "
                          "kernelhub keeps its own schema, so point db_url at a new database")
    raise SchemaError(f"the database has tables ({', '.join(sorted(tables)[:5])}, ...) but no "
                      f"{orm.SchemaVersion._meta.table_name} table: it is not a kernelhub "
                      "database; point db_url at a new or a kernelhub database")


def check(db: pw.Database, *, how_to_upgrade: str,
          plugins: Mapping[str, plugin_data.StoredData] | None = None) -> None:
    """Raise SchemaError unless the database is at SCHEMA_VERSION (or empty), and so is
    every plugin's data the database holds."""
    version = stored_version(db)
    if version is None:
        return
    if version == SCHEMA_VERSION:
        problems = list(plugin_data.problems(db, plugins or {}))
        if problems:
            raise SchemaError(f"{'; '.join(problems)}. Back it up, then {how_to_upgrade}")
        return
    if version < SCHEMA_VERSION:
        raise SchemaError(
            f"the database is at schema version {version} and this kernelhub needs version "
            f"{SCHEMA_VERSION}. Back it up, then {how_to_upgrade}"
        )
    raise SchemaError(f"the database is at schema version {version}, newer than this kernelhub "
                      f"understands ({SCHEMA_VERSION}); upgrade kernelhub")


def initialize(db: pw.Database,
               plugins: Mapping[str, plugin_data.StoredData] | None = None) -> bool:
    """Create every table in an empty database, and the tables of plugins the database
    has not seen; True when the database was empty."""
    empty = stored_version(db) is None
    if empty:
        with db.atomic():
            db.create_tables(orm.MODELS)
            orm.SchemaVersion.create(version=SCHEMA_VERSION)
        log.info("Created a new database at schema version %d", SCHEMA_VERSION)
    for plugin in plugin_data.initialize(db, plugins or {}):
        log.info("Created the tables of plugin %r at its schema version %d", plugin,
                 (plugins or {})[plugin].version)
    return empty


def upgrade(db: pw.Database,
            plugins: Mapping[str, plugin_data.StoredData] | None = None) -> list[str]:
    """Apply the pending migrations in order, the kernel's then each plugin's (backing up
    SQLite first); their descriptions."""
    plugins = plugins or {}
    version = stored_version(db)
    if version is None:
        initialize(db, plugins)
        return []
    if version > SCHEMA_VERSION:
        check(db, how_to_upgrade="")
    pending = [m for m in MIGRATIONS if m.version > version]
    if not pending and not plugin_data.pending(db, plugins):
        initialize(db, plugins)
        return []
    if isinstance(db, pw.SqliteDatabase):
        backup = backup_sqlite(db)
        if backup:
            log.info("Backed up the database to %s", backup)
    done = []
    for migration in pending:
        log.info("Upgrading the database to schema version %d: %s",
                 migration.version, migration.description)
        with db.atomic():
            migration.apply(db)
            orm.SchemaVersion.delete().execute()
            orm.SchemaVersion.create(version=migration.version)
        done.append(f"{migration.version}: {migration.description}")
    for plugin, migration in plugin_data.pending(db, plugins):
        log.info("Upgrading plugin %r's data to schema version %d: %s", plugin,
                 migration.version, migration.description)
        with db.atomic():
            migration.apply(db)
            plugin_data.record(plugin, migration.version)
        done.append(f"{plugin} {migration.version}: {migration.description}")
    initialize(db, plugins)
    return done


def reset(db: pw.Database, plugins: Mapping[str, plugin_data.StoredData] | None = None) -> None:
    """Drop every kernelhub table (the plugins' first) and start again with an empty
    database."""
    log.warning("Resetting the database: every user, server and token is deleted")
    with db.atomic():
        for data in reversed(list((plugins or {}).values())):
            db.drop_tables(data.models, safe=True)
        db.drop_tables(orm.MODELS, safe=True)
    initialize(db, plugins)


def backup_sqlite(db: pw.SqliteDatabase) -> Path | None:
    """Copy the SQLite file to ``FILE.<timestamp>.bak`` (consistent even with WAL)."""
    if in_memory(db.database):
        return None
    source = Path(db.database)
    stamp = datetime.now().strftime("%Y-%m-%d-%H%M%S")
    target = source.with_name(f"{source.name}.{stamp}.bak")
    keep_owner_only(target)  # a copy of the database is as secret as the database
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target
