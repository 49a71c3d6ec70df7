"""The cookie secret: from hub.ini, JPY_COOKIE_SECRET, or a private file made on first start."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

#: 256 bits, as JupyterHub recommends.
SECRET_BYTES = 32


class SecretError(Exception):
    """The cookie secret cannot be used; the message says how to fix it."""


def load_cookie_secret(configured: bytes, secret_file: str | os.PathLike[str],
                       environ: Mapping[str, str] | None = None) -> bytes:
    """The secret, by precedence: [hub] cookie_secret, JPY_COOKIE_SECRET, cookie_secret_file.

    A missing file is created with 32 random bytes (hex) and mode 0600. A file
    that group or other users can read is refused, as JupyterHub refuses it.
    """
    environ = os.environ if environ is None else environ
    if configured:
        return configured
    from_env = environ.get("JPY_COOKIE_SECRET", "").strip()
    if from_env:
        try:
            return bytes.fromhex(from_env)
        except ValueError:
            raise SecretError("JPY_COOKIE_SECRET must be hex, e.g. the output of "
                              "`openssl rand -hex 32`") from None
    path = Path(secret_file)
    if path.exists():
        return _read_secret_file(path)
    return _create_secret_file(path)


def _read_secret_file(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SecretError(f"the cookie secret file {path} can be read by other users "
                          f"(mode {mode:o}); run `chmod 600 {path}`")
    text = path.read_text().strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        raise SecretError(f"the cookie secret file {path} must hold hex digits; delete it "
                          "to have a new one made") from None
    if not secret:
        raise SecretError(f"the cookie secret file {path} is empty; delete it to have a new "
                          "one made")
    return secret


def _create_secret_file(path: Path) -> bytes:
    secret = secrets.token_bytes(SECRET_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        raise SecretError(f"cannot create the cookie secret file {path}: {e.strerror}") from None
    with os.fdopen(fd, "w") as f:
        f.write(secret.hex() + "\n")
    return secret
