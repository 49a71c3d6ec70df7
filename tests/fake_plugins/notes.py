"""A plugin that keeps notes in a table of its own, at schema version 2."""

from __future__ import annotations

import peewee as pw
from playhouse.migrate import SchemaMigrator, migrate

from kernel import hookimpl
from kernel.db import models as orm
from kernel.db.migrations import Migration
from kernel.db.plugin_data import StoredData


class Note(pw.Model):
    """A plugin's table as it is now (version 2 added `pinned`)."""

    user = pw.ForeignKeyField(orm.User, on_delete="CASCADE")
    text = pw.TextField()
    pinned = pw.BooleanField(default=False)

    class Meta:
        table_name = "notes_plugin_notes"


def _v2_pinned(db: pw.Database) -> None:
    migrator = SchemaMigrator.from_database(db)
    migrate(migrator.add_column("notes_plugin_notes", "pinned", pw.BooleanField(default=False)))


#: What the plugin stores, by its name (as the hub collects it).
NOTES = {"notes": StoredData([Note], [Migration(2, "pinned notes", _v2_pinned)])}


@hookimpl
def stored_data() -> StoredData:
    return NOTES["notes"]
