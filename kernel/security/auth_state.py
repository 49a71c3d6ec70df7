"""Encrypting authenticators' auth state (enable_auth_state) with JUPYTERHUB_CRYPT_KEY.

The key variable holds one or more 32-byte keys, as hex or base64, separated
by ``;``. The first one encrypts; all of them decrypt, so a key can be
rotated by putting the new one first and keeping the old one after it until
every user has logged in again.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_VARIABLE = "JUPYTERHUB_CRYPT_KEY"


class AuthStateError(Exception):
    """Auth state cannot be encrypted or decrypted; the message says what to fix."""


def _key(text: str) -> bytes:
    text = text.strip()
    for decode in (bytes.fromhex, base64.urlsafe_b64decode, base64.b64decode):
        try:
            key = decode(text)
        except (ValueError, binascii.Error):
            continue
        if len(key) == 32:
            return key
    raise AuthStateError(f"each key in {KEY_VARIABLE} must be 32 bytes, as hex (64 digits) "
                         "or base64 (`openssl rand -hex 32` makes one)")


class AuthStateCrypt:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise AuthStateError(f"[auth] enable_auth_state needs {KEY_VARIABLE}: set it to "
                                 "`openssl rand -hex 32` in the hub's environment")
        self._fernet = MultiFernet([Fernet(base64.urlsafe_b64encode(k)) for k in keys])

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> AuthStateCrypt:
        environ = os.environ if environ is None else environ
        texts = [t for t in environ.get(KEY_VARIABLE, "").split(";") if t.strip()]
        return cls([_key(text) for text in texts])

    def encrypt(self, state: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(state).encode())

    def decrypt(self, data: bytes) -> dict[str, Any]:
        try:
            return json.loads(self._fernet.decrypt(bytes(data)))
        except InvalidToken:
            raise AuthStateError(f"auth state was encrypted with a key no longer in "
                                 f"{KEY_VARIABLE}; the user must log in again") from None
