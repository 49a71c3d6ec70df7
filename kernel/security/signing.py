"""Signed cookie values: the login cookie and the XSRF token, both keyed by the cookie secret.

An XSRF token names the login session it was made for (or none, before a
login), so it is good for that session only.
"""

from __future__ import annotations

import hmac
import secrets

from itsdangerous import (
    BadSignature,
    SignatureExpired,
    Signer,
    TimestampSigner,
    URLSafeTimedSerializer,
)

from kernel.clock import utcnow


class HubClockSigner(TimestampSigner):
    """itsdangerous' timestamped signer on the hub's clock (kernel.clock)."""

    def get_timestamp(self) -> int:
        return int(utcnow().timestamp())


class CookieSigner:
    """Signs and checks the hub's cookie values."""

    def __init__(self, secret: bytes, max_age_seconds: float) -> None:
        self.max_age_seconds = max_age_seconds
        self._login = URLSafeTimedSerializer(secret, salt="kernelhub.login",
                                             signer=HubClockSigner)
        self._xsrf = Signer(secret, salt="kernelhub.xsrf")

    def login_value(self, session_id: str) -> str:
        """The login cookie for a session."""
        return self._login.dumps(session_id)

    def session_from_login(self, value: str) -> str | None:
        """The session id in a login cookie; None if tampered with, foreign or expired."""
        try:
            # itsdangerous counts whole seconds.
            session_id = self._login.loads(value, max_age=int(self.max_age_seconds))
        except SignatureExpired as e:
            # Signed "in the future": by this hub, before its clock went back (itsdangerous
            # refuses those; tornado, and so JupyterHub, accepts them). Not a reason to
            # log everyone out who logged in during the last minute of a clock step back.
            if e.date_signed is None or e.date_signed <= utcnow():
                return None
            session_id = self._login.loads(value)
        except BadSignature:
            return None
        return session_id if isinstance(session_id, str) else None

    def new_xsrf(self, session_id: str | None) -> str:
        """A fresh XSRF token for one login session (None: someone not logged in):
        random, signed, safe in a cookie and a form field."""
        return self._xsrf.sign(f"{session_id or ''}:{secrets.token_urlsafe(16)}").decode()

    def xsrf_matches(self, cookie: str | None, submitted: str | None,
                     session_id: str | None) -> bool:
        """The submitted token equals the cookie's, the cookie is ours, and it was made
        for this session: a token taken from another session (or from before a
        login) is worthless, as in JupyterHub."""
        if not cookie or not submitted or not equal_secrets(cookie, submitted):
            return False
        try:
            value = self._xsrf.unsign(cookie).decode()
        except BadSignature:
            return False
        bound, separator, _ = value.partition(":")
        return bool(separator) and equal_secrets(bound, session_id or "")


def equal_secrets(given: str, expected: str) -> bool:
    """Constant-time comparison of two strings, whatever characters they hold.

    ``hmac.compare_digest`` raises TypeError for ``str`` with non-ASCII
    characters, and what a client sends may have any: compare the UTF-8 bytes
    ("surrogatepass": a lone surrogate from a decoded URL must not raise either).
    """
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                               expected.encode("utf-8", "surrogatepass"))
