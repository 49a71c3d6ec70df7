"""Logging in: the authenticator plugin's answer, then the rules every authenticator shares.

The ``authenticate`` hook says who the person is; the kernel then normalises
the name (NFKC, lower case, ``[auth] username_map``), checks it is a valid user
name, applies ``blocked_users``, ``allowed_users``/``allow_all``/
``allow_existing_users`` and ``admin_users``, and creates the user if new,
as JupyterHub's ``Authenticator.get_authenticated_user`` does.
"""

from __future__ import annotations

import logging
import math
import re
import time
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kernel.errors import HubError

if TYPE_CHECKING:
    from starlette.requests import Request

    from kernel.config.values import Config
    from kernel.hub import Hub
    from kernel.users import User

log = logging.getLogger("kernelhub.auth")

MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class LoginService:
    """A login that happens elsewhere (OAuth, SAML): a "Sign in with NAME" button on
    the login page, leading to ``url`` (a path under the hub's prefix, or a full URL)."""

    name: str
    url: str


@dataclass
class AuthResult:
    """What an authenticator reported about a login."""

    name: str
    admin: bool | None = None
    #: True when the authenticator's own rules allow this user (PAM's allowed_groups).
    allowed: bool = False
    groups: list[str] | None = None
    auth_state: dict[str, Any] | None = None
    user_info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_hook(cls, answer: Any) -> AuthResult | None:
        """Accept the answers JupyterHub authenticators give: a name, a dict, or None."""
        if answer is None or isinstance(answer, AuthResult):
            return answer
        if isinstance(answer, str):
            return cls(name=answer)
        if isinstance(answer, dict) and isinstance(answer.get("name"), str):
            return cls(name=answer["name"], admin=answer.get("admin"),
                       allowed=bool(answer.get("allowed")),
                       groups=answer.get("groups"), auth_state=answer.get("auth_state"),
                       user_info=answer.get("user_info") or {})
        raise TypeError(f"authenticate returned {answer!r}; expected a name, a dict with "
                        "'name', or None")


def normalize_username(hub: Hub, name: str) -> str:
    """The name a login, a new user or a rename stands for: NFKC (full-width letters are
    plain ones), lower case (as JupyterHub), then ``[auth] username_map``."""
    return normalized_name(hub.config, name)


def normalized_name(config: Config, name: str) -> str:
    """``normalize_username`` before the hub exists (for hub.ini's own lists of names)."""
    name = unicodedata.normalize("NFKC", name).strip().lower()
    return config.auth.username_map.get(name, name)


def listed_users(config: Config, key: str) -> list[str]:
    """``[auth] KEY`` (``admin_users``, ``allowed_users``) as the users it names: each
    name normalised as a login's is, as JupyterHub normalises them at start-up."""
    return list(dict.fromkeys(normalized_name(config, name) for name in config.auth[key]))


def username_problem(hub: Hub, name: str) -> str | None:
    """Why ``name`` cannot be a user name, or None if it can."""
    if not name:
        return "the user name is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"the user name is longer than {MAX_NAME_LENGTH} characters"
    if "/" in name or name.strip(".") == "":
        return "a user name cannot contain '/' or be only dots"
    if name != name.strip() or any(unicodedata.category(c).startswith("C") for c in name):
        return "a user name cannot contain control characters or surrounding spaces"
    if len(_LOOKALIKE_SCRIPTS & {_script(c) for c in name}) > 1:
        return ("a user name cannot mix Latin, Greek and Cyrillic letters, which look alike "
                "(bob with a Cyrillic o, U+043E, would pass for bob)")
    pattern = hub.config.auth.username_pattern
    if pattern and not re.fullmatch(pattern, name):
        return f"the user name does not match [auth] username_pattern ({pattern})"
    return None


#: Scripts whose letters pass for each other's: a name may use one of them, not several.
_LOOKALIKE_SCRIPTS = {"LATIN", "GREEK", "CYRILLIC"}


def _script(char: str) -> str:
    """The script of a letter, from its Unicode name ("CYRILLIC SMALL LETTER O")."""
    return unicodedata.name(char, "").split(" ", 1)[0] if char.isalpha() else ""


def is_allowed(hub: Hub, name: str, result: AuthResult) -> bool:
    """The shared allow/block rules (blocked always wins)."""
    rules = hub.config.auth
    if name in rules.blocked_users:
        return False
    if result.allowed or rules.allow_all:
        return True
    config = hub.config
    if name in listed_users(config, "allowed_users") or name in listed_users(config,
                                                                          "admin_users"):
        return True
    return bool(rules.allow_existing_users and name in hub.users)


async def login(hub: Hub, request: Request, data: dict[str, str]) -> User | None:
    """The user a login form identifies, created if new; None if refused.

    Raises HubError 429 while repeated failures for this name or client
    address make it wait (see kernel.security.throttle), and whatever
    HubError a ``post_auth`` plugin raises to refuse someone.
    """
    # Counted under the name this login would be for: "CaRoL" is carol, and must not
    # get a fresh allowance of guesses of its own.
    attempted = normalize_username(hub, data.get("username", ""))
    client = hub.client_address(request)
    wait = hub.login_throttle.retry_after(attempted, client)
    if wait > 0:
        seconds = math.ceil(wait)
        log.warning("Throttled login for %r from %s: %d s to wait", attempted, client, seconds)
        unit = "second" if seconds == 1 else "seconds"
        raise HubError(429, f"Too many failed logins. Try again in {seconds} {unit}.",
                       headers={"Retry-After": str(seconds)})
    answer = await hub.hooks.authenticate(request=request, data=data)
    result = AuthResult.from_hook(answer)
    if result is None:
        hub.login_throttle.failed(attempted, client)
        log.warning("Failed login for %r from %s", attempted, client)
        return None
    hub.login_throttle.succeeded(attempted)
    result.name = normalize_username(hub, result.name)
    if not _acceptable(hub, result):
        return None
    result = AuthResult.from_hook(await hub.hooks.post_auth(request=request, result=result))
    if result is None or not _acceptable(hub, result):
        return None
    user = await _apply(hub, result)
    hub.login_refreshed[user.id] = time.monotonic()
    log.info("User %s logged in", user.name)
    return user


def _acceptable(hub: Hub, result: AuthResult) -> bool:
    problem = username_problem(hub, result.name)
    if problem:
        log.warning("Refused login for %r: %s", result.name, problem)
        return False
    if not is_allowed(hub, result.name, result):
        log.warning("Refused login for %r: not allowed (see [auth] allowed_users, "
                    "allow_all, allow_existing_users and blocked_users)", result.name)
        return False
    return True


async def _apply(hub: Hub, result: AuthResult) -> User:
    """Create or update the user from what the authenticator said."""
    admin = True if result.name in listed_users(hub.config, "admin_users") else result.admin
    user = await hub.users.ensure(result.name, admin=admin)
    if admin is not None:
        hub.permissions.changed()
    if result.user_info and result.user_info != user.user_info:
        await hub.users.set_user_info(user, result.user_info)
    if hub.auth_state_crypt is not None and result.auth_state is not None:
        await hub.users.save_auth_state(user, hub.auth_state_crypt.encrypt(result.auth_state))
    return user


async def auth_state(hub: Hub, user: User) -> dict[str, Any] | None:
    """The user's decrypted auth state, or None (none stored, or enable_auth_state off)."""
    if hub.auth_state_crypt is None:
        return None
    encrypted = await hub.users.encrypted_auth_state(user)
    return hub.auth_state_crypt.decrypt(encrypted) if encrypted else None


async def refresh_login(hub: Hub, user: User, *, force: bool = False) -> bool:
    """Ask the authenticator (refresh_user) whether the login still holds, at most every
    auth_refresh_age seconds unless ``force``; False when it does not (the user is then
    logged out). A login counts as a refresh."""
    now = time.monotonic()
    last = hub.login_refreshed.get(user.id)
    if not force and last is not None and now - last < hub.config.auth.auth_refresh_age:
        return True
    hub.login_refreshed[user.id] = now
    answer = await hub.hooks.refresh_user(user=user)
    if answer is False:
        log.info("The authenticator no longer accepts %s's login; logging them out", user.name)
        await hub.sessions.revoke_user(user.id)
        hub.login_refreshed.pop(user.id, None)
        return False
    if isinstance(answer, dict):
        await _apply(hub, AuthResult.from_hook({"name": user.name, **answer}))  # type: ignore[arg-type]
    return True
