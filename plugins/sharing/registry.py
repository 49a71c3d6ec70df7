"""The shares of servers, in memory: an owner grants a user or a group scopes on a server.

A share's scopes are always limited to its server (``access:servers`` means
``access:servers!server=alice/``). Shares are kept in memory, by user and by
group, so that computing a user's permissions costs no query. A share code
is a secret that anyone logged in can exchange for a share, until it
expires; only its hash is stored.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import peewee as pw

from kernel.api import GroupTable, utcnow
from kernel.errors import HubError
from kernel.scopes import ScopeError, follow_rename, parse
from kernel.security.tokens import digest_code
from kernel.stash import StashKey
from plugins.sharing.models import Share as ShareRow
from plugins.sharing.models import ShareCode

if TYPE_CHECKING:
    from collections.abc import Iterable

    from kernel.api import Database
    from kernel.hub import Hub
    from kernel.users import Server, UserRegistry

#: What a share grants when the owner names no scopes.
DEFAULT_SHARE_SCOPES = ("access:servers",)
#: Share codes live between a minute and a year; a day by default (JupyterHub's limits).
CODE_EXPIRY_SECONDS = (60, 31_536_000, 86_400)


@dataclass(eq=False)
class Share:
    id: int
    server: Server
    #: Exactly one of user_id and group_name is set.
    user_id: int | None
    group_name: str | None
    scopes: list[str]
    created_at: datetime


def server_scopes(server: Server, scopes: list[str] | None) -> list[str]:
    """Scopes limited to ``server``; 400 for a scope aimed at anything else."""
    if scopes is not None and not isinstance(scopes, list):
        raise HubError(400, "scopes must be a list of strings")
    limited = []
    for scope in scopes or DEFAULT_SHARE_SCOPES:
        if not isinstance(scope, str):
            raise HubError(400, "scopes must be a list of strings")
        try:
            base, filter_ = parse(scope)
        except ScopeError as e:
            raise HubError(400, str(e)) from None
        if filter_ is not None and filter_ != ("server", server.full_name):
            raise HubError(400, f"A share can only grant scopes on {server.full_name}, not "
                                f"{scope!r}")
        limited.append(f"{base}!server={server.full_name}")
    return sorted(set(limited))


class ShareRegistry:
    """Every share, by id, each with its live ``Server``; share codes stay in the database."""

    def __init__(self, db: Database, users: UserRegistry) -> None:
        self.db = db
        self.users = users
        self._shares: dict[int, Share] = {}

    def load(self) -> None:
        """Read every share (call on a database thread, after the users are loaded)."""
        servers = {s.id: s for u in self.users for s in u.servers.values()}
        rows = ShareRow.select(ShareRow, GroupTable.name).join(
            GroupTable, pw.JOIN.LEFT_OUTER, on=(ShareRow.group == GroupTable.id)).dicts()
        self._shares = {}
        # peewee's stubs say .dicts() still yields models; it yields a dict per row.
        for row in cast("Iterable[dict[str, Any]]", rows):
            server = servers.get(row["server"])
            if server is not None:
                self._shares[row["id"]] = Share(row["id"], server, row["user"], row["name"],
                                                row["scopes"], row["created_at"])

    def scopes_for(self, user_id: int, groups: set[str]) -> list[str]:
        """The scopes shares give a user, directly or through their groups.

        Each is aimed at its server by the server's name now, not by the text stored
        with the share: a share follows its server through renames, and never passes
        to a new server that takes the old name.
        """
        return [f"{scope.partition('!')[0]}!server={share.server.full_name}"
                for share in self._shares.values()
                if share.user_id == user_id or share.group_name in groups
                for scope in share.scopes]

    def of_server(self, server: Server) -> list[Share]:
        return sorted((s for s in self._shares.values() if s.server is server),
                      key=lambda s: s.id)

    def of_owner(self, owner_id: int) -> list[Share]:
        return sorted((s for s in self._shares.values() if s.server.user.id == owner_id),
                      key=lambda s: s.id)

    def with_user(self, user_id: int) -> list[Share]:
        return sorted((s for s in self._shares.values() if s.user_id == user_id),
                      key=lambda s: s.id)

    def with_group(self, group: str) -> list[Share]:
        return sorted((s for s in self._shares.values() if s.group_name == group),
                      key=lambda s: s.id)

    def find(self, server: Server, user_id: int | None, group: str | None) -> Share | None:
        return next((s for s in self._shares.values() if s.server is server
                     and s.user_id == user_id and s.group_name == group), None)

    async def grant(self, server: Server, user_id: int | None, group_id: int | None,
                    group: str | None, scopes: list[str]) -> Share:
        """Add scopes to the share of ``server`` with a user or a group (made if new)."""
        share = self.find(server, user_id, group)
        if share is None:
            row = await self.db.run(ShareRow.create, server=server.id, user=user_id,
                                    group=group_id, scopes=scopes)
            share = Share(row.id, server, user_id, group, scopes, row.created_at)
            self._shares[share.id] = share
        else:
            share.scopes = sorted(set(share.scopes) | set(scopes))
            await self._save(share)
        return share

    async def revoke(self, share: Share, scopes: list[str] | None = None) -> Share | None:
        """Take scopes (all when None) away; the share, or None once it grants nothing."""
        remaining = [] if scopes is None else [s for s in share.scopes if s not in scopes]
        if remaining:
            share.scopes = remaining
            await self._save(share)
            return share
        await self.db.run(ShareRow.delete().where(ShareRow.id == share.id).execute)
        del self._shares[share.id]
        return None

    def forget_server(self, server: Server) -> None:
        """Drop a deleted server's shares from memory (the database cascades)."""
        for share in [s for s in self._shares.values() if s.server is server]:
            del self._shares[share.id]

    def forget_user(self, user_id: int) -> None:
        for share in [s for s in self._shares.values()
                      if s.user_id == user_id or s.server.user.id == user_id]:
            del self._shares[share.id]

    def forget_group(self, group: str) -> None:
        for share in [s for s in self._shares.values() if s.group_name == group]:
            del self._shares[share.id]

    async def follow_rename(self, old: str, new: str) -> None:
        """Rewrite the shares and share codes of a renamed user or server (``old`` and
        ``new`` as ``kernel.scopes.follow_rename`` takes them), as JupyterHub does."""
        for share in self._shares.values():
            share.scopes = follow_rename(share.scopes, old, new)

        def rewrite() -> None:
            for table in (ShareRow, ShareCode):
                for row in table.select(table.id, table.scopes):
                    scopes = follow_rename(row.scopes, old, new)
                    if scopes != row.scopes:
                        table.update(scopes=scopes).where(table.id == row.id).execute()
        await self.db.run(rewrite)

    async def _save(self, share: Share) -> None:
        await self.db.run(ShareRow.update(scopes=share.scopes)
                          .where(ShareRow.id == share.id).execute)

    # -- share codes ----------------------------------------------------------------

    async def issue_code(self, server: Server, scopes: list[str],
                         expires_in: float) -> tuple[str, ShareCode]:
        code = secrets.token_urlsafe(24)
        row = await self.db.run(
            ShareCode.create, server=server.id, code_hash=digest_code(code), scopes=scopes,
            expires_at=utcnow() + timedelta(seconds=expires_in))
        return code, row

    async def codes(self, server_ids: list[int]) -> list[ShareCode]:
        """Unexpired codes of these servers, oldest first (expired ones are deleted)."""
        def query() -> list[ShareCode]:
            ShareCode.delete().where(ShareCode.expires_at <= utcnow()).execute()
            return list(ShareCode.select().where(ShareCode.server.in_(server_ids))
                        .order_by(ShareCode.id))
        return await self.db.run(query)

    async def revoke_code(self, server: Server, *, code: str | None = None,
                          code_id: int | None = None) -> int:
        """Delete a code of ``server`` by its text or its id; how many were deleted."""
        query = ShareCode.delete().where(ShareCode.server == server.id)
        if code is not None:
            query = query.where(ShareCode.code_hash == digest_code(code))
        if code_id is not None:
            query = query.where(ShareCode.id == code_id)
        return await self.db.run(query.execute)

    async def exchange_code(self, code: str, user_id: int) -> Share:
        """Turn a share code into a share for the user who presents it."""
        row = await self.db.run(ShareCode.get_or_none,
                                ShareCode.code_hash == digest_code(code))
        if row is None or (row.expires_at is not None and row.expires_at <= utcnow()):
            raise HubError(404, "This share code is not valid (it may have expired)")
        server = next((s for u in self.users for s in u.servers.values()
                       if s.id == row.server_id), None)
        if server is None:
            raise HubError(404, "The shared server no longer exists")
        if server.user.id == user_id:
            raise HubError(400, "You cannot accept a share of your own server")
        await self.db.run(ShareCode.update(
            exchange_count=ShareCode.exchange_count + 1, last_exchanged_at=utcnow())
            .where(ShareCode.id == row.id).execute)
        return await self.grant(server, user_id, None, None, row.scopes)


#: Each hub's shares (made when first asked for, read from the database at start-up).
SHARES = StashKey["ShareRegistry"]()


def shares_of(hub: Hub) -> ShareRegistry:
    """The hub's share registry."""
    registry = hub.stash.get(SHARES)
    if registry is None:
        registry = hub.stash[SHARES] = ShareRegistry(hub.db, hub.users)
    return registry


def code_expiry(expires_in: object) -> float:
    """expires_in of a new share code, within JupyterHub's limits (400 outside)."""
    low, high, default = CODE_EXPIRY_SECONDS
    if expires_in is None:
        return default
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        raise HubError(400, "expires_in must be a number of seconds")
    if not low <= expires_in <= high:
        raise HubError(400, f"expires_in must be between {low} and {high} seconds")
    return float(expires_in)
