"""The model layer, on SQLite, PostgreSQL and MariaDB alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import peewee as pw
import pytest

from kernel.db import models as orm
from kernel.db import schema
from kernel.db.migrations import SCHEMA_VERSION
from kernel.tokens import TokenStore
from kernel.users import UserRegistry


def test_a_new_database_is_created_at_the_current_schema_version(database):
    assert database.call(schema.initialize, database.peewee) is True
    assert database.call(schema.stored_version, database.peewee) == SCHEMA_VERSION
    tables = set(database.call(database.peewee.get_tables))
    assert {m._meta.table_name for m in orm.MODELS} <= tables
    assert database.call(schema.initialize, database.peewee) is False  # only once


def test_users_servers_and_groups_round_trip(database):
    database.call(schema.initialize, database.peewee)
    registry = UserRegistry(database)

    async def scenario():
        alice = await registry.add("alice", admin=True)
        server = await registry.server(alice, "gpu")
        server.state = {"pid": 1234, "nested": {"list": [1, 2]}}
        server.url = "http://127.0.0.1:5000"
        server.started = datetime(2026, 11, 25, 12, 30, 15, 123456, tzinfo=UTC)
        await registry.save_server(server)

    asyncio.run(scenario())

    def add_group():
        group = orm.Group.create(name="physics", properties={"room": "B12"})
        orm.UserGroup.create(user=orm.User.get(name="alice"), group=group)

    database.call(add_group)
    reloaded = UserRegistry(database)
    database.call(reloaded.load)
    alice = reloaded.get("alice")
    assert alice.admin and alice.groups == {"physics"}
    server = alice.server("gpu")
    assert server.state == {"pid": 1234, "nested": {"list": [1, 2]}}
    assert server.url == "http://127.0.0.1:5000"
    assert server.started == datetime(2026, 11, 25, 12, 30, 15, 123456, tzinfo=UTC)
    assert reloaded.by_id(alice.id) is alice


def test_user_names_are_unique(database):
    database.call(schema.initialize, database.peewee)
    database.call(orm.User.create, name="bob")
    with pytest.raises(pw.IntegrityError):
        database.call(orm.User.create, name="bob")


def test_unicode_names_are_kept_exactly(database):
    database.call(schema.initialize, database.peewee)
    name = "zoë-🚀-李"
    database.call(orm.User.create, name=name)
    assert database.call(lambda: orm.User.get(orm.User.name == name).name) == name


def test_deleting_a_user_deletes_their_servers_tokens_and_sessions(database):
    database.call(schema.initialize, database.peewee)
    registry = UserRegistry(database)
    tokens = TokenStore(database)

    async def scenario():
        carol = await registry.add("carol")
        server = await registry.server(carol)
        token, _ = await tokens.issue(user_id=carol.id, server_id=server.id)
        await database.run(orm.LoginSession.create, id="s1", user=carol.id)
        assert await tokens.find(token) is not None
        await registry.delete(carol)
        return token

    asyncio.run(scenario())
    counts = database.call(lambda: (orm.Server.select().count(), orm.APIToken.select().count(),
                                    orm.LoginSession.select().count()))
    assert counts == (0, 0, 0)


def test_tokens_are_stored_hashed_and_found_by_the_token(database):
    database.call(schema.initialize, database.peewee)
    tokens = TokenStore(database)

    async def scenario():
        user = await database.run(orm.User.create, name="dave")
        token, row = await tokens.issue(user_id=user.id, scopes=["read:users!user=dave"],
                                        note="for a script")
        info = await tokens.find(token)
        return token, row, info

    token, row, info = asyncio.run(scenario())
    stored = database.call(lambda: list(orm.APIToken.select().dicts()))
    assert all(token not in str(value) for record in stored for value in record.values())
    assert row.prefix == token[:4]
    assert info.scopes == ("read:users!user=dave",) and info.note == "for a script"
    assert asyncio.run(tokens.find(token[:-1] + ("0" if token[-1] != "0" else "1"))) is None


def test_an_expired_token_is_not_found(database):
    database.call(schema.initialize, database.peewee)
    tokens = TokenStore(database)

    async def scenario():
        user = await database.run(orm.User.create, name="erin")
        token, row = await tokens.issue(user_id=user.id, expires_in=60)
        await database.run(orm.APIToken.update(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)).where(
            orm.APIToken.id == row.id).execute)
        fresh = TokenStore(database)
        return await fresh.find(token)

    assert asyncio.run(scenario()) is None


def test_a_revoked_token_stops_working_at_once(database):
    database.call(schema.initialize, database.peewee)
    tokens = TokenStore(database)

    async def scenario():
        user = await database.run(orm.User.create, name="frank")
        token, row = await tokens.issue(user_id=user.id)
        assert await tokens.find(token) is not None  # now cached
        await tokens.revoke(row.id)
        return await tokens.find(token)

    assert asyncio.run(scenario()) is None


def test_token_scopes_follow_a_renamed_user_on_every_database(database):
    database.call(schema.initialize, database.peewee)
    tokens = TokenStore(database)
    name = 'ann"%_\\x'  # quotes, LIKE's wildcards and a backslash: no pattern is built from it

    async def scenario():
        user = await database.run(orm.User.create, name="ta")
        token, _ = await tokens.issue(user_id=user.id, scopes=[
            f"read:users!user={name}", f"access:servers!server={name}/", "read:hub"])
        assert (await tokens.find(token)).scopes[0] == f"read:users!user={name}"  # cached
        await tokens.follow_rename(name, "ann-old")
        return await tokens.find(token)

    assert asyncio.run(scenario()).scopes == (
        "read:users!user=ann-old", "access:servers!server=ann-old/", "read:hub")


def test_a_jupyterhub_database_is_refused_with_advice(database):
    database.call(database.peewee.execute_sql,
                  "CREATE TABLE alembic_version (version_num VARCHAR(32))")
    with pytest.raises(schema.SchemaError, match="this is a JupyterHub database"):
        database.call(schema.check, database.peewee, how_to_upgrade="")


def test_a_database_from_a_newer_kernelhub_is_refused(database):
    database.call(schema.initialize, database.peewee)
    database.call(lambda: orm.SchemaVersion.update(version=SCHEMA_VERSION + 1).execute())
    with pytest.raises(schema.SchemaError, match="newer than this kernelhub understands"):
        database.call(schema.check, database.peewee, how_to_upgrade="")
