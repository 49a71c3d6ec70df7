"""The rules every authenticator shares, and what an authenticator answers.

The ``authenticate`` hook says who the person is (an ``AuthResult``); the
rules here then normalise the name (NFKC, lower case, ``[auth]
username_map``), check it is a valid user name, and apply ``blocked_users``,
``allowed_users``/``allow_all``/``allow_existing_users`` and ``admin_users``,
as JupyterHub's ``Authenticator.get_authenticated_user`` does. The login
itself, which applies them, is ``kernel.logins``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel.config.values import Config
    from kernel.hub import Hub

#: The longest user name, in bytes of UTF-8: the longest file name Linux takes, so that a
#: spawner can name a home folder after any user (255 characters with accents were not).
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
            return cls.from_fields(answer)
        raise TypeError(f"authenticate returned {answer!r}; expected a name, a dict with "
                        "'name', or None")

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> AuthResult:
        """From a dict with ``name`` and, optionally, the other fields (as JupyterHub's)."""
        return cls(name=fields["name"], admin=fields.get("admin"),
                   allowed=bool(fields.get("allowed")),
                   groups=fields.get("groups"), auth_state=fields.get("auth_state"),
                   user_info=fields.get("user_info") or {})


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
    # Lone surrogates are refused below; here they only have to be counted.
    if len(name.encode(errors="surrogatepass")) > MAX_NAME_LENGTH:
        return f"the user name is longer than {MAX_NAME_LENGTH} bytes (in UTF-8)"
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
