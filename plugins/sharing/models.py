"""The sharing plugin's tables: shares of servers, and share codes (schema version 1).

Version 1 is the layout kernel schema versions 3 to 5 kept in the kernel's
own tables ``shares`` and ``share_codes``; kernel migration 6 hands those
tables, rows and all, to this plugin. Later changes come as migrations in
``MIGRATIONS``.
"""

from __future__ import annotations

import peewee as pw

from kernel.api import (
    GroupTable,
    JSONField,
    Migration,
    ServerTable,
    UserTable,
    UTCDateTimeField,
    utcnow,
)


class Share(pw.Model):
    """Access to one server, granted by its owner to a user or a group."""

    # Declared (as peewee would add them) so that a type checker knows them.
    id = pw.AutoField()
    server = pw.ForeignKeyField(ServerTable, backref="shares", on_delete="CASCADE")
    user = pw.ForeignKeyField(UserTable, null=True, backref="shares", on_delete="CASCADE")
    group = pw.ForeignKeyField(GroupTable, null=True, backref="shares", on_delete="CASCADE")
    scopes = JSONField(default=list)
    created_at = UTCDateTimeField(default=utcnow)

    server_id: int
    user_id: int | None
    group_id: int | None

    class Meta:
        table_name = "shares"


class ShareCode(pw.Model):
    """A code anyone logged in can exchange for a share of one server (until it expires)."""

    id = pw.AutoField()
    server = pw.ForeignKeyField(ServerTable, backref="share_codes", on_delete="CASCADE")
    code_hash = pw.CharField(max_length=128, unique=True)
    scopes = JSONField(default=list)
    created_at = UTCDateTimeField(default=utcnow)
    expires_at = UTCDateTimeField(null=True, index=True)
    exchange_count = pw.IntegerField(default=0)
    last_exchanged_at = UTCDateTimeField(null=True)

    server_id: int

    class Meta:
        table_name = "share_codes"


#: How the tables changed after version 1 (none yet).
MIGRATIONS: list[Migration] = []
