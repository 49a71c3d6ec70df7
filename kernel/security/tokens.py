"""API tokens, OAuth codes and client secrets: generated at random, stored only as hashes.

A stored token is ``prefix`` (its first characters, indexed, to find
candidate rows) plus a salted SHA-512 hash in the form
``sha512:ROUNDS:SALT:DIGEST``. Tokens the hub generates are random enough to
need one round; tokens an operator typed into hub.ini are hashed with many
rounds, like passwords, unless ``trust_user_provided_tokens`` is on.

Tokens imported from JupyterHub (``kernel import-db``) keep JupyterHub's hash,
tagged ``jupyterhub:sha512:ROUNDS:SALT:DIGEST``: JupyterHub hashes the salt's
hex text where kernelhub hashes the salt's bytes, and the token itself is not
known to re-hash it, so both kinds are checked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX_LENGTH = 4
#: Marks a hash made by JupyterHub (see the module docstring).
JUPYTERHUB_HASH_TAG = "jupyterhub:"
GENERATED_ROUNDS = 1
USER_PROVIDED_ROUNDS = 16384
#: Tokens shorter than this are refused wherever an operator provides one.
MIN_TOKEN_LENGTH = 8


def provided_token_rounds(trusted: bool) -> int:
    """Rounds for a token someone typed in: one if [hub] trust_user_provided_tokens says
    such tokens are random keys, many (as for a password) otherwise."""
    return GENERATED_ROUNDS if trusted else USER_PROVIDED_ROUNDS


def new_token() -> str:
    """A new random token: 32 hex characters (128 bits), as JupyterHub's are."""
    return secrets.token_hex(16)


def token_prefix(token: str) -> str:
    return token[:PREFIX_LENGTH]


def hash_token(token: str, *, rounds: int = GENERATED_ROUNDS, salt: bytes | None = None) -> str:
    """The stored form of ``token``."""
    salt = secrets.token_bytes(8) if salt is None else salt
    return f"sha512:{rounds}:{salt.hex()}:{_digest(token, rounds, salt)}"


def jupyterhub_hash(hashed: str) -> str:
    """The stored form of a hash JupyterHub made (``sha512:ROUNDS:SALT:DIGEST``)."""
    return JUPYTERHUB_HASH_TAG + hashed


def check_token(token: str, hashed: str) -> bool:
    """Whether ``token`` is the one ``hashed`` was made from (constant-time compare)."""
    made_by_jupyterhub = hashed.startswith(JUPYTERHUB_HASH_TAG)
    try:
        algorithm, rounds, salt, digest = hashed.removeprefix(JUPYTERHUB_HASH_TAG).split(":", 3)
        if algorithm != "sha512":
            return False
        salt_bytes = salt.encode() if made_by_jupyterhub else bytes.fromhex(salt)
        expected = _digest(token, int(rounds), salt_bytes)
    except ValueError:
        return False
    return hmac.compare_digest(expected, digest)


def digest_code(code: str) -> str:
    """An unsalted SHA-256 of a short-lived random secret (OAuth codes), for direct lookup."""
    return hashlib.sha256(code.encode()).hexdigest()


def _digest(token: str, rounds: int, salt: bytes) -> str:
    h = hashlib.sha512(salt)
    data = token.encode()
    for _ in range(rounds):
        h.update(data)
    return h.hexdigest()
