"""OAuth clients and authorization codes: the data side of the hub's OAuth provider.

Every server (and every service with a URL) is an OAuth client: it sends its
users to the hub to log in, gets a short-lived code back, and exchanges it
for an access token. Client secrets and codes are stored only as hashes; a
code works once, for five minutes, for the client and redirect URI it was
issued to, and with PKCE when the client asked for it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from kernel.clock import utcnow
from kernel.db import models as orm
from kernel.security.signing import equal_secrets
from kernel.security.tokens import check_token, digest_code, hash_token

if TYPE_CHECKING:
    from kernel.db.database import Database

#: How long an authorization code can be exchanged (JupyterHub: 300 s).
CODE_LIFETIME = timedelta(seconds=300)


class OAuthError(Exception):
    """An OAuth request refused with one of RFC 6749's error codes."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True)
class OAuthClient:
    """A registered client (a server or a service): where its codes go, what it may ask."""

    id: int
    identifier: str
    description: str
    redirect_uri: str
    #: The scopes its tokens may be given, when the person holds them.
    allowed_scopes: tuple[str, ...]
    #: The scopes that let a person use the client (access:servers!server=alice/).
    access_scopes: tuple[str, ...]

    @classmethod
    def from_row(cls, row: orm.OAuthClient) -> OAuthClient:
        return cls(id=row.id, identifier=row.identifier, description=row.description,
                   redirect_uri=row.redirect_uri, allowed_scopes=tuple(row.allowed_scopes),
                   access_scopes=tuple(row.access_scopes))


class OAuthClients:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def register(self, *, identifier: str, secret: str, redirect_uri: str,
                       description: str, allowed_scopes: list[str],
                       access_scopes: list[str]) -> None:
        """Create or update a client; the secret is stored hashed."""
        await self.db.run(lambda: upsert_client(
            identifier, secret=secret, redirect_uri=redirect_uri, description=description,
            allowed_scopes=allowed_scopes, access_scopes=access_scopes))

    async def get(self, identifier: str) -> OAuthClient | None:
        row = await self._row(identifier)
        return OAuthClient.from_row(row) if row is not None else None

    async def _row(self, identifier: str) -> orm.OAuthClient | None:
        return await self.db.run(
            orm.OAuthClient.get_or_none, orm.OAuthClient.identifier == identifier)

    async def issue_code(self, client: OAuthClient, *, user_id: int,
                         session_id: str | None, scopes: list[str], redirect_uri: str,
                         code_challenge: str | None, code_challenge_method: str | None) -> str:
        code = secrets.token_urlsafe(24)
        await self.db.run(
            orm.OAuthCode.create, code_hash=digest_code(code), client=client.id, user=user_id,
            session_id=session_id, scopes=scopes, redirect_uri=redirect_uri,
            code_challenge=code_challenge, code_challenge_method=code_challenge_method,
            expires_at=utcnow() + CODE_LIFETIME)
        return code

    async def redeem_code(self, *, client_id: str, client_secret: str, code: str,
                          redirect_uri: str, code_verifier: str | None
                          ) -> tuple[OAuthClient, orm.OAuthCode]:
        """Check a token request and use up its code; OAuthError when anything is off."""
        client = await self._row(client_id)
        if client is None or not check_token(client_secret, client.secret_hash):
            raise OAuthError("invalid_client", "Unknown client, or wrong client secret", 401)
        row = await self.db.run(_take_code, digest_code(code))
        if row is None or row.client_id != client.id:
            raise OAuthError("invalid_grant", "The code is not valid (it may have been used)")
        if row.expires_at <= utcnow():
            raise OAuthError("invalid_grant", "The code has expired")
        if row.redirect_uri and redirect_uri != row.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization's")
        if row.code_challenge and not pkce_matches(row.code_challenge,
                                                   row.code_challenge_method, code_verifier):
            raise OAuthError("invalid_grant", "The code_verifier does not match (PKCE)")
        return OAuthClient.from_row(client), row


#: RFC 7636 §4.1-4.2: a code_verifier, and so a code_challenge, is made of these
#: ("unreserved") characters, at most 128 of them.
PKCE_VALUE = re.compile(r"[A-Za-z0-9._~-]{1,128}")


def pkce_matches(challenge: str, method: str | None, verifier: str | None) -> bool:
    """RFC 7636: the verifier hashes (S256) or equals (plain) the challenge."""
    if not verifier or not PKCE_VALUE.fullmatch(verifier):
        return False
    if (method or "plain") == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        verifier = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    # Bytes: a challenge stored before challenges were checked may hold anything.
    return equal_secrets(verifier, challenge)


def upsert_client(identifier: str, *, secret: str | None, redirect_uri: str,
                  description: str, allowed_scopes: list[str],
                  access_scopes: list[str]) -> None:
    """Create or update a client (on a database thread). Without a secret, the client
    can send people to log in but can never redeem a code."""
    fields = {"secret_hash": hash_token(secret) if secret else "",
              "redirect_uri": redirect_uri, "description": description,
              "allowed_scopes": allowed_scopes, "access_scopes": access_scopes}
    updated = (orm.OAuthClient.update(**fields)
               .where(orm.OAuthClient.identifier == identifier).execute())
    if not updated:
        orm.OAuthClient.create(identifier=identifier, **fields)


def delete_client(identifier: str) -> None:
    """Delete a client with its codes and the tokens it issued (on a database thread)."""
    orm.OAuthClient.delete().where(orm.OAuthClient.identifier == identifier).execute()


def _take_code(code_hash: str) -> orm.OAuthCode | None:
    """Read and delete a code in one transaction: a code works once."""
    with orm.OAuthCode._meta.database.atomic():
        row = orm.OAuthCode.get_or_none(orm.OAuthCode.code_hash == code_hash)
        if row is not None:
            orm.OAuthCode.delete().where(orm.OAuthCode.id == row.id).execute()
        return row
