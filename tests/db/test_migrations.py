"""Schema upgrades: old databases are refused, backed up, upgraded, and keep their data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from playhouse.migrate import SchemaMigrator, migrate

from kernel.db import models as orm
from kernel.db import plugin_data, schema
from kernel.db.database import Database
from kernel.db.migrations import SCHEMA_VERSION
from plugins.sharing.models import Share, ShareCode

V1_DUMP = Path(__file__).parent.parent / "data" / "schema-v1.sql"


@pytest.fixture
def v1_database(tmp_path) -> Path:
    """A SQLite file exactly as kernelhub 0.1.0 (schema version 1) left it."""
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as connection:
        connection.executescript(V1_DUMP.read_text())
    return path


def test_an_old_database_is_refused_with_how_to_upgrade(v1_database):
    db = Database(f"sqlite:///{v1_database}")
    try:
        with pytest.raises(schema.SchemaError) as e:
            db.call(schema.check, db.peewee, how_to_upgrade="run `kernel upgrade-db`")
    finally:
        db.close()
    assert (f"the database is at schema version 1 and this kernelhub needs version "
            f"{SCHEMA_VERSION}. Back it up, then run `kernel upgrade-db`") in str(e.value)


def test_upgrading_backs_up_sqlite_then_migrates_and_keeps_the_data(v1_database):
    db = Database(f"sqlite:///{v1_database}")
    try:
        steps = db.call(schema.upgrade, db.peewee)
        assert steps == ["2: roles and who holds them", "3: shares of servers, and share codes",
                         "4: the access scopes of OAuth clients",
                         "5: servers' user_options may be null",
                         "6: plugins' own schema versions; shares move to the sharing plugin"]
        assert db.call(schema.stored_version, db.peewee) == SCHEMA_VERSION
        db.call(schema.check, db.peewee, how_to_upgrade="")
        alice = db.call(orm.User.get, orm.User.name == "alice")
        assert alice.admin and alice.cookie_id == "c0ffee"
        server = db.call(orm.Server.get, orm.Server.user == alice.id)
        assert server.state == {"pid": 4242}
        role = db.call(orm.Role.create, name="teacher", scopes=["admin:servers"])
        db.call(orm.UserRole.create, user=alice.id, role=role.id)
    finally:
        db.close()
    backups = list(v1_database.parent.glob("old.sqlite.*.bak"))
    assert len(backups) == 1
    with sqlite3.connect(backups[0]) as backup:
        assert backup.execute("SELECT version FROM kernelhub_schema").fetchone() == (1,)
        assert backup.execute("SELECT name FROM users").fetchall() == [("alice",)]


def test_upgrading_an_up_to_date_database_does_nothing(database):
    database.call(schema.initialize, database.peewee)
    assert database.call(schema.upgrade, database.peewee) == []


def test_reset_empties_the_database(database):
    database.call(schema.initialize, database.peewee)
    database.call(orm.User.create, name="gone")
    database.call(schema.reset, database.peewee)
    assert database.call(orm.User.select().count) == 0
    assert database.call(schema.stored_version, database.peewee) == SCHEMA_VERSION


def test_every_migration_runs_on_every_engine(database):
    # A version-1 database is today's schema without the tables later versions added.
    database.call(schema.initialize, database.peewee)
    added_since_v1 = [orm.PluginSchema, orm.UserRole, orm.GroupRole, orm.ServiceRole,
                      orm.Role]

    def back_to_version_1():
        database.peewee.drop_tables(added_since_v1)
        migrator = SchemaMigrator.from_database(database.peewee)
        migrate(migrator.drop_column("oauth_clients", "access_scopes"),
                migrator.add_not_null("servers", "user_options"))
        orm.SchemaVersion.update(version=1).execute()

    database.call(back_to_version_1)
    database.call(orm.User.create, name="alice")
    assert database.call(schema.upgrade, database.peewee) == [
        "2: roles and who holds them", "3: shares of servers, and share codes",
        "4: the access scopes of OAuth clients", "5: servers' user_options may be null",
        "6: plugins' own schema versions; shares move to the sharing plugin"]

    def use_new_tables():
        alice = orm.User.get(name="alice")
        role = orm.Role.create(name="grader", scopes=["read:users"])
        orm.UserRole.create(user=alice, role=role)
        server = orm.Server.create(user=alice, name="")
        Share.create(server=server, user=orm.User.create(name="bob"),
                         scopes=["access:servers!server=alice/"])
        ShareCode.create(server=server, code_hash="h", scopes=[])
        orm.OAuthClient.create(identifier="c", access_scopes=["access:servers!user=bob"])
        orm.User.delete().where(orm.User.name == "alice").execute()  # cascades
        return (orm.UserRole.select().count(), Share.select().count(),
                ShareCode.select().count())

    # Migration 3 made the tables of shares; migration 6 gave them to the sharing plugin.
    assert database.call(plugin_data.versions, database.peewee) == {"sharing": 1}
    database.bind([Share, ShareCode])
    assert database.call(use_new_tables) == (0, 0, 0)
