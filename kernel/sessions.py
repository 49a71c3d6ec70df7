"""Login sessions: one per browser login, kept server-side so that logout really ends it.

The login cookie only carries a signed session id. Logging out deletes the
session, so a copy of the cookie taken before logout is worthless after it.
Sessions are held in memory (loaded at start-up), so checking a cookie costs
no query.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from kernel.clock import utcnow
from kernel.db import models as orm

if TYPE_CHECKING:
    from kernel.db.database import Database


class SessionStore:
    def __init__(self, db: Database, max_age_seconds: float) -> None:
        self.db = db
        self.max_age = timedelta(seconds=max_age_seconds)
        self._user_of: dict[str, int] = {}

    def load(self) -> None:
        """Read live sessions and delete expired ones (call on a database thread)."""
        cutoff = utcnow() - self.max_age
        orm.LoginSession.delete().where(orm.LoginSession.created < cutoff).execute()
        self._user_of = {row.id: row.user_id for row in
                         orm.LoginSession.select(orm.LoginSession.id, orm.LoginSession.user)}

    async def create(self, user_id: int) -> str:
        session_id = secrets.token_hex(16)
        await self.db.run(orm.LoginSession.create, id=session_id, user=user_id)
        self._user_of[session_id] = user_id
        return session_id

    def user_id(self, session_id: str) -> int | None:
        """The user a live session belongs to."""
        return self._user_of.get(session_id)

    async def revoke(self, session_id: str) -> None:
        self._user_of.pop(session_id, None)
        await self.db.run(
            orm.LoginSession.delete().where(orm.LoginSession.id == session_id).execute)

    async def revoke_user(self, user_id: int) -> None:
        """End every session of a user (deleted, blocked, or logged out everywhere)."""
        for session_id in [s for s, u in self._user_of.items() if u == user_id]:
            del self._user_of[session_id]
        await self.db.run(
            orm.LoginSession.delete().where(orm.LoginSession.user == user_id).execute)
