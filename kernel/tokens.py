"""API tokens: issued, found (with a cache, so a token check costs no query), and revoked.

Tokens are stored hashed (``kernel.security.tokens``). Looking one up costs a
query and a hash only the first time it is seen; after that the answer comes
from a bounded in-memory cache keyed by a digest of the token, which revoking
a token clears.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import peewee as pw

from kernel.clock import utcnow
from kernel.db import models as orm
from kernel.scopes import follow_rename
from kernel.security.tokens import (
    GENERATED_ROUNDS,
    check_token,
    hash_token,
    new_token,
    token_prefix,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from kernel.db.database import Database

#: The longest expires_in a token may be given, in seconds (100 years): far enough to
#: mean "never" for anyone, near enough that the expiry date is one the database holds.
MAX_TOKEN_LIFETIME = 100 * 365 * 86400


@dataclass(frozen=True)
class TokenInfo:
    """What a valid token grants; the token itself is never kept."""

    id: int
    user_id: int | None
    service_id: int | None
    server_id: int | None
    scopes: tuple[str, ...]
    expires_at: datetime | None
    session_id: str | None
    oauth_client_id: int | None
    note: str

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= utcnow()

    @classmethod
    def from_row(cls, row: orm.APIToken) -> TokenInfo:
        return cls(id=row.id, user_id=row.user_id, service_id=row.service_id,
                   server_id=row.server_id, scopes=tuple(row.scopes or ()),
                   expires_at=row.expires_at, session_id=row.session_id,
                   oauth_client_id=row.oauth_client_id, note=row.note)


@dataclass(frozen=True)
class TokenRecord:
    """A stored token as its owner sees it listed: what it grants, and its history."""

    info: TokenInfo
    created: datetime
    last_activity: datetime | None
    #: The description of the OAuth client that issued it; None for the hub's own tokens.
    oauth_client: str | None

    @classmethod
    def from_row(cls, row: orm.APIToken) -> TokenRecord:
        """From a row read with its client (``_with_client``) or just created."""
        client = None if row.oauth_client_id is None else row.oauth_client
        return cls(info=TokenInfo.from_row(row), created=row.created,
                   last_activity=row.last_activity,
                   oauth_client=client.description if client is not None else None)


class TokenStore:
    """Issues and checks the hub's API tokens."""

    #: How many token answers (valid or not) are remembered.
    cache_size = 50_000

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: OrderedDict[str, TokenInfo | None] = OrderedDict()
        #: When each token's use was last written (token id -> time).
        self._last_use: dict[int, datetime] = {}

    async def issue(
        self,
        *,
        user_id: int | None = None,
        service_id: int | None = None,
        server_id: int | None = None,
        scopes: list[str] | tuple[str, ...] = (),
        note: str = "",
        expires_in: float | None = None,
        session_id: str | None = None,
        oauth_client_id: int | None = None,
        token: str | None = None,
        rounds: int = GENERATED_ROUNDS,
    ) -> tuple[str, orm.APIToken]:
        """Store a new token (``token`` when one is provided) and return it with its row."""
        token = token or new_token()
        expires_at = utcnow() + timedelta(seconds=expires_in) if expires_in else None
        row = await self.db.run(
            orm.APIToken.create, prefix=token_prefix(token),
            hashed=hash_token(token, rounds=rounds), user=user_id, service=service_id,
            server=server_id,
            scopes=list(scopes), note=note, expires_at=expires_at, session_id=session_id,
            oauth_client=oauth_client_id,
        )
        self._cache.pop(_key(token), None)
        # The id may be a revoked token's (the database reuses them): its uses are not ours.
        self._last_use.pop(row.id, None)
        return token, row

    async def find(self, token: str) -> TokenInfo | None:
        """What ``token`` grants, or None if it is unknown, revoked or expired."""
        key = _key(token)
        if key in self._cache:
            self._cache.move_to_end(key)
            info = self._cache[key]
        else:
            info = await self.db.run(_lookup, token)
            self._remember(key, info)
        if info is not None and info.expired:
            return None
        return info

    async def record_use(self, token_id: int, when: datetime,
                         resolution_seconds: float) -> None:
        """Store the token's last_activity, at most once per ``resolution_seconds``."""
        last = self._last_use.get(token_id)
        if last is not None and when - last < timedelta(seconds=resolution_seconds):
            return
        self._last_use[token_id] = when
        await self.db.run(orm.APIToken.update(last_activity=when)
                          .where(orm.APIToken.id == token_id).execute)

    async def of_user(self, user_id: int) -> list[TokenRecord]:
        """A user's tokens that have not expired, oldest first."""
        now = utcnow()
        query = (_with_client()
                 .where((orm.APIToken.user == user_id)
                        & (orm.APIToken.expires_at.is_null() | (orm.APIToken.expires_at > now)))
                 .order_by(orm.APIToken.id))
        return await self.db.run(lambda: [TokenRecord.from_row(row) for row in query])

    async def get(self, token_id: int) -> TokenRecord | None:
        """A token that has not expired."""
        row = await self.db.run(lambda: _with_client().where(
            orm.APIToken.id == token_id).first())
        if row is None or (row.expires_at is not None and row.expires_at <= utcnow()):
            return None
        return TokenRecord.from_row(row)

    async def granted_scopes(self, user_id: int, oauth_client_id: int) -> set[str]:
        """Every scope a user's tokens from one OAuth client hold (what the user granted it)."""
        query = orm.APIToken.select(orm.APIToken.scopes).where(
            (orm.APIToken.user == user_id) & (orm.APIToken.oauth_client == oauth_client_id))
        return await self.db.run(lambda: {scope for row in query for scope in row.scopes})

    async def revoke(self, token_id: int) -> None:
        await self.db.run(orm.APIToken.delete().where(orm.APIToken.id == token_id).execute)
        self._forget(lambda info: info.id == token_id)

    async def revoke_where(self, *, user_id: int | None = None, server_id: int | None = None,
                           service_id: int | None = None, session_id: str | None = None,
                           oauth_client_id: int | None = None) -> None:
        """Revoke every token matching all the given conditions (at least one)."""
        conditions = [(orm.APIToken.user, user_id), (orm.APIToken.server, server_id),
                      (orm.APIToken.service, service_id),
                      (orm.APIToken.session_id, session_id),
                      (orm.APIToken.oauth_client, oauth_client_id)]
        if all(value is None for _, value in conditions):
            raise ValueError("revoke_where needs a user, a server, a service or a session")
        query = orm.APIToken.delete()
        for column, value in conditions:
            if value is not None:
                query = query.where(column == value)
        await self.db.run(query.execute)
        self._forget(lambda info: all(
            value is None or getattr(info, name) == value
            for name, value in (("user_id", user_id), ("server_id", server_id),
                                ("service_id", service_id), ("session_id", session_id),
                                ("oauth_client_id", oauth_client_id))))

    async def follow_rename(self, old: str, new: str) -> None:
        """Rewrite tokens' scopes filtered on a renamed user or server (``old`` and ``new``
        as ``kernel.scopes.follow_rename`` takes them), so that they keep naming it."""
        def rewrite() -> bool:
            changed = False
            # Only scopes with an explicit filter (`!user=alice`) can change. The pattern is a
            # constant: a name would need escaping for LIKE and for JSON both. (ILIKE because
            # peewee makes LIKE a case-sensitive GLOB on SQLite.)
            with_filter = pw.Value("%=%", converter=False)
            for row in orm.APIToken.select(orm.APIToken.id, orm.APIToken.scopes).where(
                    pw.Expression(orm.APIToken.scopes, pw.OP.ILIKE, with_filter)):
                scopes = follow_rename(row.scopes, old, new)
                if scopes != row.scopes:
                    orm.APIToken.update(scopes=scopes).where(
                        orm.APIToken.id == row.id).execute()
                    changed = True
            return changed
        if await self.db.run(rewrite):
            self._cache.clear()  # renames are rare; the cache refills as tokens are used

    def _remember(self, key: str, info: TokenInfo | None) -> None:
        self._cache[key] = info
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _forget(self, matches: Callable[[TokenInfo], bool]) -> None:
        stale = [(key, info.id) for key, info in self._cache.items()
                 if info is not None and matches(info)]
        for key, token_id in stale:
            del self._cache[key]
            self._last_use.pop(token_id, None)
        # Unknown-token answers may hide a token that was just written; drop them too.
        for key in [k for k, info in self._cache.items() if info is None]:
            del self._cache[key]


def _with_client() -> pw.ModelSelect[orm.APIToken]:
    """Tokens with their OAuth client read in the same query (``row.oauth_client``)."""
    return (orm.APIToken.select(orm.APIToken, orm.OAuthClient)
            .join(orm.OAuthClient, pw.JOIN.LEFT_OUTER))


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _lookup(token: str) -> TokenInfo | None:
    """Find the token's row by prefix and check the hash (on a database thread)."""
    candidates = orm.APIToken.select().where(orm.APIToken.prefix == token_prefix(token))
    for row in candidates:
        if check_token(token, row.hashed):
            return TokenInfo.from_row(row)
    return None
