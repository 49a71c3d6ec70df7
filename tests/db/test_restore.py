"""kernel.restore: what `kernel import-db` writes into kernelhub's tables, on each engine."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from kernel.db import models as orm
from kernel.db import schema
from kernel.restore import (
    TOKENS,
    USERS,
    ImportedGroup,
    ImportedRole,
    ImportedServer,
    ImportedToken,
    ImportedUser,
    Snapshot,
    Tally,
    existing_records,
    restore,
)

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
CREATED = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
JUPYTERHUB_HASH = "sha512:1:0011223344556677:" + "ab" * 64


def token(**changes: object) -> ImportedToken:
    fields: dict = dict(prefix="abcd", jupyterhub_hashed=JUPYTERHUB_HASH, user="alice",
                        service=None, scopes=["read:users"], note="ci", created=CREATED,
                        expires_at=None, last_activity=None)
    return ImportedToken(**{**fields, **changes})


def snapshot() -> Snapshot:
    return Snapshot(
        users=[ImportedUser("alice", False, CREATED, None), ImportedUser("dave", True, None,
                                                                        CREATED)],
        groups=[ImportedGroup("physics", {"lab": "B12"}, ["alice"])],
        roles=[ImportedRole("auditor", "reads", ["read:users"], users=["dave"],
                            groups=["physics"]),
               ImportedRole("user", "", ["self"], users=["alice", "dave"])],
        tokens=[token()],
        servers=[ImportedServer("alice", "lab", "Lab", {"gpu": "1"}, CREATED)],
    )


def kinds(tallies: list[Tally]) -> dict[str, Tally]:
    return {tally.kind: tally for tally in tallies}


def test_an_empty_database_has_no_records_in_the_way(database):
    database.call(schema.initialize, database.peewee)
    assert database.call(existing_records) == {}


def test_a_snapshot_is_written_with_its_owners_found_by_name(database):
    database.call(schema.initialize, database.peewee)
    tallies = kinds(database.call(restore, snapshot(), now=NOW))
    assert {kind: t.imported for kind, t in tallies.items()} == {
        "users": 2, "groups": 1, "services (made through the API)": 0, "roles": 1,
        "API tokens": 1, "servers (stopped)": 1}
    assert tallies["roles"].skipped == Counter({"built-in: set in hub.ini": 1})

    def rows():
        alice = orm.User.get(orm.User.name == "alice")
        stored = orm.APIToken.get()
        role = orm.Role.get(orm.Role.name == "auditor")
        return (alice.created, orm.User.get(orm.User.name == "dave").admin,
                [g.group.name for g in orm.UserGroup.select().where(orm.UserGroup.user == alice)],
                orm.Group.get().properties, role.scopes,
                [r.user.name for r in orm.UserRole.select()],
                [r.group.name for r in orm.GroupRole.select()],
                (stored.user.name, stored.prefix, stored.hashed, stored.scopes, stored.note),
                [(s.name, s.display_name, s.user_options, s.url) for s in alice.servers])

    assert database.call(rows) == (
        CREATED, True, ["physics"], {"lab": "B12"}, ["read:users"], ["dave"], ["physics"],
        ("alice", "abcd", "jupyterhub:" + JUPYTERHUB_HASH, ["read:users"], "ci"),
        [("lab", "Lab", {"gpu": "1"}, None)])
    assert database.call(existing_records) == {"users": 2, "groups": 1, "user tokens": 1}


def test_a_second_import_keeps_what_is_there_and_adds_group_members(database):
    database.call(schema.initialize, database.peewee)
    database.call(restore, snapshot(), now=NOW)
    again = snapshot()
    again.groups[0].members.append("dave")
    tallies = kinds(database.call(restore, again, now=NOW))
    assert all(t.imported == 0 for t in tallies.values())
    assert tallies["users"].skipped == Counter({"already in kernelhub": 2})
    assert tallies["API tokens"].skipped == Counter({"already in kernelhub": 1})
    members = database.call(lambda: sorted(m.user.name for m in orm.UserGroup.select()))
    assert members == ["alice", "dave"]


def test_expired_tokens_and_tokens_of_services_kernelhub_lacks_are_left_out(database):
    database.call(schema.initialize, database.peewee)
    moved = snapshot()
    moved.tokens = [token(expires_at=NOW - timedelta(seconds=1), jupyterhub_hashed="sha512:1"),
                    token(user=None, service="grader", jupyterhub_hashed="sha512:2"),
                    token(expires_at=NOW + timedelta(days=1), jupyterhub_hashed="sha512:3")]
    tally = kinds(database.call(restore, moved, now=NOW))["API tokens"]
    assert tally.imported == 1
    assert tally.skipped == Counter({
        "expired": 1,
        "service not in hub.ini: add [service:NAME] and import with --merge": 1})


def test_what_the_reader_left_out_is_counted_with_its_kind():
    left_out = Counter({(USERS, "auth state not copied"): 2, (TOKENS, "OAuth token"): 1})
    assert Tally.of(USERS, left_out).skipped == Counter({"auth state not copied": 2})
    assert Tally.of("groups", left_out).skipped == Counter()
