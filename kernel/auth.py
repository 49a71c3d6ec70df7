"""Logging in: the authenticator plugin's answer, then the rules every authenticator shares.

The ``authenticate`` hook says who the person is; the kernel then normalises
the name (lower case, ``[auth] username_map``), checks it is a valid user
name, applies ``blocked_users``, ``allowed_users``/``allow_all``/
``allow_existing_users`` and ``admin_users``, and creates the user if new,
as JupyterHub's ``Authenticator.get_authenticated_user`` does.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kernel.errors import HubError

if TYPE_CHECKING:
    from starlette.requests import Request

    from kernel.hub import Hub
    from kernel.users import User

log = logging.getLogger("kernelhub.auth")

MAX_NAME_LENGTH = 255


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
    name = unicodedata.normalize("NFC", name).strip().lower()
    return hub.config.auth.username_map.get(name, name)


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
    pattern = hub.config.auth.username_pattern
    if pattern and not re.fullmatch(pattern, name):
        return f"the user name does not match [auth] username_pattern ({pattern})"
    return None


def is_allowed(hub: Hub, name: str, result: AuthResult) -> bool:
    """The shared allow/block rules (blocked always wins)."""
    rules = hub.config.auth
    if name in rules.blocked_users:
        return False
    if result.allowed or rules.allow_all:
        return True
    if name in rules.allowed_users or name in rules.admin_users:
        return True
    return bool(rules.allow_existing_users and name in hub.users)


async def login(hub: Hub, request: Request, data: dict[str, str]) -> User | None:
    """The user a login form identifies, created if new; None if refused.

    Raises HubError 429 while repeated failures for this name or client
    address make it wait (see kernel.security.throttle).
    """
    attempted = data.get("username", "")
    client = hub.client_address(request)
    wait = hub.login_throttle.retry_after(attempted, client)
    if wait > 0:
        seconds = math.ceil(wait)
        log.warning("Throttled login for %r from %s: %d s to wait", attempted, client, seconds)
        unit = "second" if seconds == 1 else "seconds"
        raise HubError(429, f"Too many failed logins. Try again in {seconds} {unit}.",
                       headers={"Retry-After": str(seconds)})
    answer = await hub.hooks.first("authenticate", hub=hub, request=request, data=data)
    result = AuthResult.from_hook(answer)
    if result is None:
        hub.login_throttle.failed(attempted, client)
        log.warning("Failed login for %r from %s", attempted, client)
        return None
    name = normalize_username(hub, result.name)
    problem = username_problem(hub, name)
    if problem:
        log.warning("Refused login for %r: %s", name, problem)
        return None
    if not is_allowed(hub, name, result):
        log.warning("Refused login for %r: not allowed (see [auth] allowed_users, "
                    "allow_all, allow_existing_users and blocked_users)", name)
        return None
    hub.login_throttle.succeeded(attempted)
    admin = True if name in hub.config.auth.admin_users else result.admin
    user = await hub.users.ensure(name, admin=admin)
    if result.user_info and result.user_info != user.user_info:
        await hub.users.set_user_info(user, result.user_info)
    log.info("User %s logged in", name)
    return user
