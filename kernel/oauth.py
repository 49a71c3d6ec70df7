"""OAuth clients the hub knows: one per server and per service, with hashed secrets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.db import models as orm
from kernel.security.tokens import hash_token

if TYPE_CHECKING:
    from kernel.db.database import Database


class OAuthClients:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def register(self, *, identifier: str, secret: str, redirect_uri: str,
                       description: str, allowed_scopes: list[str]) -> None:
        """Create or update a client; the secret is stored hashed."""
        await self.db.run(_upsert, identifier, hash_token(secret), redirect_uri, description,
                          allowed_scopes)

    async def get(self, identifier: str) -> orm.OAuthClient | None:
        return await self.db.run(
            orm.OAuthClient.get_or_none, orm.OAuthClient.identifier == identifier)


def _upsert(identifier: str, secret_hash: str, redirect_uri: str, description: str,
            allowed_scopes: list[str]) -> None:
    fields = {"secret_hash": secret_hash, "redirect_uri": redirect_uri,
              "description": description, "allowed_scopes": allowed_scopes}
    updated = (orm.OAuthClient.update(**fields)
               .where(orm.OAuthClient.identifier == identifier).execute())
    if not updated:
        orm.OAuthClient.create(identifier=identifier, **fields)
