"""The schema's history: one migration per version after the first.

Version 1 is the schema kernelhub started with; a new database is created
directly at ``SCHEMA_VERSION`` from ``kernel.db.models``. When a model
changes, add a ``Migration`` here that takes a database from the previous
version to the new one with ``playhouse.migrate`` operations (never by
importing the current models, which will keep changing), and a dump of a
database at the old version under ``tests/data/`` for the upgrade test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import peewee as pw
from playhouse.migrate import SchemaMigrator, migrate


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[pw.Database], None]


def _v2_roles(db: pw.Database) -> None:
    """Roles (named sets of scopes) and the users, groups and services holding them."""

    # The tables as they were at version 2, frozen here: the models will move on.
    class Base(pw.Model):
        class Meta:
            database = db

    class Role(Base):
        name = pw.CharField(max_length=255, unique=True)
        description = pw.CharField(max_length=1023, default="")
        scopes = pw.TextField()
        from_config = pw.BooleanField(default=False)

        class Meta:
            table_name = "roles"

    def holder_map(table: str, holder_table: str, holder: str) -> type[pw.Model]:
        meta = {"table_name": holder_table}
        holder_model = type(holder_table, (Base,), {"Meta": type("Meta", (), meta)})
        return type(table, (Base,), {
            holder: pw.ForeignKeyField(holder_model, on_delete="CASCADE"),
            "role": pw.ForeignKeyField(Role, on_delete="CASCADE"),
            "Meta": type("Meta", (), {"table_name": table,
                                      "primary_key": pw.CompositeKey(holder, "role")}),
        })

    db.create_tables([Role, holder_map("user_role_map", "users", "user"),
                      holder_map("group_role_map", "groups", "group"),
                      holder_map("service_role_map", "services", "service")])


def _v3_shares(db: pw.Database) -> None:
    """Shares of servers with users and groups, and share codes."""

    class Base(pw.Model):
        class Meta:
            database = db

    def frozen(table: str) -> type[pw.Model]:
        return type(table, (Base,), {"Meta": type("Meta", (), {"table_name": table})})

    servers, users, groups = frozen("servers"), frozen("users"), frozen("groups")

    class Share(Base):
        server = pw.ForeignKeyField(servers, on_delete="CASCADE")
        user = pw.ForeignKeyField(users, null=True, on_delete="CASCADE")
        group = pw.ForeignKeyField(groups, null=True, on_delete="CASCADE")
        scopes = pw.TextField()
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "shares"

    class ShareCode(Base):
        server = pw.ForeignKeyField(servers, on_delete="CASCADE")
        code_hash = pw.CharField(max_length=128, unique=True)
        scopes = pw.TextField()
        created_at = pw.DateTimeField()
        expires_at = pw.DateTimeField(null=True, index=True)
        exchange_count = pw.IntegerField(default=0)
        last_exchanged_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "share_codes"

    db.create_tables([Share, ShareCode])


def _v4_oauth_access_scopes(db: pw.Database) -> None:
    """Which scopes let a user into an OAuth client's server or service."""
    migrator = SchemaMigrator.from_database(db)
    migrate(migrator.add_column("oauth_clients", "access_scopes", pw.TextField(default="[]")))


def _v5_optional_user_options(db: pw.Database) -> None:
    """A server never started with options has none (null), not empty ones."""
    migrator = SchemaMigrator.from_database(db)
    migrate(migrator.drop_not_null("servers", "user_options"))


def _v6_plugin_schemas(db: pw.Database) -> None:
    """Plugins keep their own tables, each at a schema version of its own; the sharing
    plugin takes over the tables of shares and share codes (its version 1) as they are."""

    class PluginSchema(pw.Model):
        plugin = pw.CharField(max_length=255, primary_key=True)
        version = pw.IntegerField()
        upgraded = pw.DateTimeField()

        class Meta:
            database = db
            table_name = "kernelhub_plugin_schema"

    db.create_tables([PluginSchema])
    if "shares" in db.get_tables():
        PluginSchema.create(plugin="sharing", version=1,
                            upgraded=datetime.now(UTC).replace(tzinfo=None))


MIGRATIONS: list[Migration] = [
    Migration(2, "roles and who holds them", _v2_roles),
    Migration(3, "shares of servers, and share codes", _v3_shares),
    Migration(4, "the access scopes of OAuth clients", _v4_oauth_access_scopes),
    Migration(5, "servers' user_options may be null", _v5_optional_user_options),
    Migration(6, "plugins' own schema versions; shares move to the sharing plugin",
              _v6_plugin_schemas),
]

SCHEMA_VERSION = 1 + len(MIGRATIONS)
