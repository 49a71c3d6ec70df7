"""Signed cookie values: the login cookie and the XSRF token, both keyed by the cookie secret."""

from __future__ import annotations

import hmac
import secrets

from itsdangerous import BadSignature, Signer, URLSafeTimedSerializer


class CookieSigner:
    """Signs and checks the hub's cookie values."""

    def __init__(self, secret: bytes, max_age_seconds: float) -> None:
        self.max_age_seconds = max_age_seconds
        self._login = URLSafeTimedSerializer(secret, salt="kernelhub.login")
        self._xsrf = Signer(secret, salt="kernelhub.xsrf")

    def login_value(self, session_id: str) -> str:
        """The login cookie for a session."""
        return self._login.dumps(session_id)

    def session_from_login(self, value: str) -> str | None:
        """The session id in a login cookie; None if tampered with, foreign or expired."""
        try:
            session_id = self._login.loads(value, max_age=self.max_age_seconds)
        except BadSignature:  # includes SignatureExpired
            return None
        return session_id if isinstance(session_id, str) else None

    def new_xsrf(self) -> str:
        """A fresh XSRF token: random, signed, safe in a cookie and a form field."""
        return self._xsrf.sign(secrets.token_urlsafe(16)).decode()

    def xsrf_matches(self, cookie: str | None, submitted: str | None) -> bool:
        """The submitted token equals the cookie's, and the cookie is ours."""
        if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
            return False
        return self._xsrf.validate(cookie)
