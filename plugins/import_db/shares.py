"""Writing imported shares into the sharing plugin's table.

Shares are the sharing plugin's data, so they are written here, through its
models and the kernel's tables it refers to, rather than by ``kernel.restore``.
"""

from __future__ import annotations

from kernel.api import GroupTable, ServerTable, UserTable
from kernel.restore import Tally
from plugins.import_db.read import ImportedShare
from plugins.sharing.models import Share


def restore_shares(shares: list[ImportedShare], tally: Tally) -> Tally:
    """Write ``shares`` (on a database thread, after ``kernel.restore.restore``)."""
    users = {row.name: row.id for row in UserTable.select(UserTable.id, UserTable.name)}
    groups = {row.name: row.id for row in GroupTable.select(GroupTable.id, GroupTable.name)}
    servers = {(server.user.name, server.name): server.id
               for server in ServerTable.select(ServerTable, UserTable).join(UserTable)}
    with Share._meta.database.atomic():
        for share in shares:
            server = servers[share.owner, share.server]
            user = users.get(share.user) if share.user else None
            group = groups.get(share.group) if share.group else None
            if Share.select().where((Share.server == server) & (Share.user == user)
                                    & (Share.group == group)).exists():
                tally.skip("already in kernelhub")
                continue
            Share.create(server=server, user=user, group=group, scopes=share.scopes,
                         created_at=share.created_at)
            tally.imported += 1
    return tally

