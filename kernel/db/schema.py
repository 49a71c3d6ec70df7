"""Schema versions: new databases start at the current version; old ones upgrade step by step.

A new (empty) database gets every table of ``kernel.db.models`` and is
stamped with ``SCHEMA_VERSION``. A database stamped with an older version is
upgraded by the migrations in ``kernel.db.migrations``, one version at a
time, each in a transaction where the engine allows. The hub refuses to start
on a database that is behind (and says how to upgrade), ahead (a newer
kernelhub wrote it) or not a kernelhub database at all.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from pathlib import Path

import peewee as pw

from kernel.db import models as orm
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


def check(db: pw.Database, *, how_to_upgrade: str) -> None:
    """Raise SchemaError unless the database is at SCHEMA_VERSION (or empty)."""
    version = stored_version(db)
    if version is None or version == SCHEMA_VERSION:
        return
    if version < SCHEMA_VERSION:
        raise SchemaError(
            f"the database is at schema version {version} and this kernelhub needs version "
            f"{SCHEMA_VERSION}. Back it up, then {how_to_upgrade}"
        )
    raise SchemaError(f"the database is at schema version {version}, newer than this kernelhub "
                      f"understands ({SCHEMA_VERSION}); upgrade kernelhub")


def initialize(db: pw.Database) -> bool:
    """Create every table in an empty database; True when it did."""
    if stored_version(db) is not None:
        return False
    with db.atomic():
        db.create_tables(orm.MODELS)
        orm.SchemaVersion.create(version=SCHEMA_VERSION)
    log.info("Created a new database at schema version %d", SCHEMA_VERSION)
    return True


def upgrade(db: pw.Database) -> list[str]:
    """Apply the pending migrations in order (backing up SQLite first); their descriptions."""
    version = stored_version(db)
    if version is None:
        initialize(db)
        return []
    if version > SCHEMA_VERSION:
        check(db, how_to_upgrade="")
    pending = [m for m in MIGRATIONS if m.version > version]
    if not pending:
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
    return done


def reset(db: pw.Database) -> None:
    """Drop every kernelhub table and start again with an empty database."""
    log.warning("Resetting the database: every user, server and token is deleted")
    with db.atomic():
        db.drop_tables(orm.MODELS, safe=True)
    initialize(db)


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
