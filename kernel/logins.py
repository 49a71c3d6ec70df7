"""Every login, whatever route it comes by: ``hub.logins``.

The password form, an automatic login and a plugin's login service (see the
``login_services`` hook) all log people in through ``Logins.login``, which
asks the authenticator plugin, holds back password guessing
(``kernel.security.throttle``), applies the rules every authenticator shares
(``kernel.auth``), runs ``post_auth``, creates or updates the user, and
reports the attempt: the ``login`` or ``login.failed`` event and the
``login_duration_seconds`` measurement. It also re-checks logins with the
authenticator's ``refresh_user`` and keeps users' encrypted auth state.
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING, Any

from kernel.auth import (
    AuthResult,
    is_allowed,
    listed_users,
    normalize_username,
    username_problem,
)
from kernel.errors import HubError
from kernel.security.auth_state import AuthStateCrypt
from kernel.security.throttle import LoginThrottle

if TYPE_CHECKING:
    from starlette.requests import Request

    from kernel.hub import Hub
    from kernel.users import User

log = logging.getLogger("kernelhub.auth")


class Logins:
    """Logging in and staying logged in, for one hub."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        options = hub.config.auth
        self._throttle = LoginThrottle(options.throttle_failed_logins,
                                       options.throttle_max_delay)
        self._crypt = AuthStateCrypt.from_environment() if options.enable_auth_state \
            else None
        #: When each user's login was last confirmed by refresh_user (monotonic seconds).
        self._refreshed: dict[int, float] = {}

    async def login(self, request: Request, data: dict[str, str]) -> User | None:
        """The user a login form (or any other login route) identifies, created if new;
        None if refused.

        Raises HubError 429 while repeated failures for this name or client
        address make it wait, and whatever HubError a ``post_auth`` plugin raises
        to refuse someone.
        """
        hub = self._hub
        began = time.monotonic()
        user = await self._authenticate(request, data)
        hub.measure("login_duration_seconds", "timing", time.monotonic() - began,
                    status="success" if user else "failure")
        if user is None:
            hub.emit("login.failed", user=data.get("username", ""))
        else:
            hub.emit("login", user=user.name)
        return user

    async def _authenticate(self, request: Request, data: dict[str, str]) -> User | None:
        hub = self._hub
        # Counted under the name this login would be for: "CaRoL" is carol, and must not
        # get a fresh allowance of guesses of its own.
        attempted = normalize_username(hub, data.get("username", ""))
        client = hub.client_address(request)
        wait = self._throttle.retry_after(attempted, client)
        if wait > 0:
            seconds = math.ceil(wait)
            log.warning("Throttled login for %r from %s: %d s to wait", attempted, client,
                        seconds)
            unit = "second" if seconds == 1 else "seconds"
            raise HubError(429, f"Too many failed logins. Try again in {seconds} {unit}.",
                           headers={"Retry-After": str(seconds)})
        answer = await hub.hooks.authenticate(request=request, data=data)
        result = AuthResult.from_hook(answer)
        if result is None:
            self._throttle.failed(attempted, client)
            log.warning("Failed login for %r from %s", attempted, client)
            return None
        self._throttle.succeeded(attempted)
        result.name = normalize_username(hub, result.name)
        if not self._acceptable(result):
            return None
        result = AuthResult.from_hook(await hub.hooks.post_auth(request=request,
                                                                result=result))
        if result is None or not self._acceptable(result):
            return None
        user = await self._apply(result)
        self._refreshed[user.id] = time.monotonic()
        log.info("User %s logged in", user.name)
        return user

    def _acceptable(self, result: AuthResult) -> bool:
        problem = username_problem(self._hub, result.name)
        if problem:
            log.warning("Refused login for %r: %s", result.name, problem)
            return False
        if not is_allowed(self._hub, result.name, result):
            log.warning("Refused login for %r: not allowed (see [auth] allowed_users, "
                        "allow_all, allow_existing_users and blocked_users)", result.name)
            return False
        return True

    async def _apply(self, result: AuthResult) -> User:
        """Create or update the user from what the authenticator said."""
        hub = self._hub
        admin = True if result.name in listed_users(hub.config, "admin_users") \
            else result.admin
        user = await hub.users.ensure(result.name, admin=admin)
        if admin is not None:
            hub.permissions.changed()
        if result.user_info and result.user_info != user.user_info:
            await hub.users.set_user_info(user, result.user_info)
        if self._crypt is not None and result.auth_state is not None:
            await hub.users.save_auth_state(user, self._crypt.encrypt(result.auth_state))
        return user

    async def auth_state(self, user: User) -> dict[str, Any] | None:
        """The user's decrypted auth state, or None (none stored, or enable_auth_state
        off)."""
        if self._crypt is None:
            return None
        encrypted = await self._hub.users.encrypted_auth_state(user)
        return self._crypt.decrypt(encrypted) if encrypted else None

    async def refresh(self, user: User, *, force: bool = False) -> bool:
        """Ask the authenticator (refresh_user) whether the login still holds, at most
        every auth_refresh_age seconds unless ``force``; False when it does not (the user
        is then logged out). A login counts as a refresh."""
        hub = self._hub
        now = time.monotonic()
        last = self._refreshed.get(user.id)
        if not force and last is not None and now - last < hub.config.auth.auth_refresh_age:
            return True
        self._refreshed[user.id] = now
        answer = await hub.hooks.refresh_user(user=user)
        if answer is False:
            log.info("The authenticator no longer accepts %s's login; logging them out",
                     user.name)
            await hub.sessions.revoke_user(user.id)
            self._refreshed.pop(user.id, None)
            return False
        if isinstance(answer, dict):
            await self._apply(AuthResult.from_fields({"name": user.name, **answer}))
        return True
