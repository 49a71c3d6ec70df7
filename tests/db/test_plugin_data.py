"""Plugins' own tables: created at their latest version, upgraded by their own migrations,
and refused when behind or ahead, on every engine."""

from __future__ import annotations

import pytest
from playhouse.migrate import SchemaMigrator, migrate

from kernel.db import models as orm
from kernel.db import plugin_data, schema
from tests.fake_plugins.notes import NOTES, Note


@pytest.fixture
def notes_database(database):
    database.bind([Note])
    return database


def test_a_new_database_gets_the_plugins_tables_at_their_latest_version(notes_database):
    db = notes_database
    db.call(schema.initialize, db.peewee, NOTES)
    assert db.call(plugin_data.versions, db.peewee) == {"notes": 2}
    alice = db.call(orm.User.create, name="alice")
    db.call(Note.create, user=alice, text="hi", pinned=True)
    assert db.call(Note.select().where(Note.pinned).count) == 1


def test_a_plugin_added_later_gets_its_tables_at_start_up(notes_database):
    db = notes_database
    db.call(schema.initialize, db.peewee)
    assert db.call(plugin_data.versions, db.peewee) == {}
    assert "notes_plugin_notes" not in db.call(db.peewee.get_tables)
    db.call(schema.initialize, db.peewee, NOTES)
    assert db.call(plugin_data.versions, db.peewee) == {"notes": 2}


def test_a_plugin_behind_is_refused_then_upgraded_keeping_its_rows(notes_database):
    db = notes_database
    db.call(schema.initialize, db.peewee, NOTES)

    def back_to_version_1() -> None:
        migrate(SchemaMigrator.from_database(db.peewee).drop_column("notes_plugin_notes",
                                                                    "pinned"))
        plugin_data.record("notes", 1)
        alice = orm.User.create(name="alice")
        db.peewee.execute_sql("INSERT INTO notes_plugin_notes (user_id, text) VALUES "
                              f"({alice.id}, 'kept')")

    db.call(back_to_version_1)
    with pytest.raises(schema.SchemaError) as e:
        db.call(schema.check, db.peewee, how_to_upgrade="run `kernel upgrade-db`",
                plugins=NOTES)
    assert ("plugin 'notes' keeps its data at schema version 1 and needs version 2. Back it "
            "up, then run `kernel upgrade-db`") in str(e.value)
    assert db.call(schema.upgrade, db.peewee, NOTES) == ["notes 2: pinned notes"]
    db.call(schema.check, db.peewee, how_to_upgrade="", plugins=NOTES)
    assert [(n.text, n.pinned) for n in db.call(list, Note.select())] == [("kept", False)]
    assert db.call(schema.upgrade, db.peewee, NOTES) == []


def test_a_plugin_ahead_of_its_code_is_refused(notes_database):
    db = notes_database
    db.call(schema.initialize, db.peewee, NOTES)
    db.call(plugin_data.record, "notes", 3)
    with pytest.raises(schema.SchemaError, match="newer than it understands"):
        db.call(schema.check, db.peewee, how_to_upgrade="", plugins=NOTES)


def test_reset_drops_the_plugins_tables_too(notes_database):
    db = notes_database
    db.call(schema.initialize, db.peewee, NOTES)
    db.call(Note.create, user=db.call(orm.User.create, name="alice"), text="gone")
    db.call(schema.reset, db.peewee, NOTES)
    assert db.call(Note.select().count) == 0
    assert db.call(plugin_data.versions, db.peewee) == {"notes": 2}
