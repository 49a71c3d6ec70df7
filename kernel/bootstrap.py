"""What hub.ini puts into the database at start-up: admins, allowed users, groups and
API tokens.

As JupyterHub's ``init_users`` does, every name in ``[auth] admin_users`` and
``[auth] allowed_users`` is a user from the start (normalised as a login
normalises it), so the REST API, the admin page and the idle culler see them
before their first login. This only ever adds: removing a name from hub.ini
does not delete the user, group or token (use the REST API for that), nor
take an admin's rights (only a ``[role:admin] users`` list does, see
``kernel.roles``).
"""

from __future__ import annotations

import logging

from kernel.auth import listed_users
from kernel.config.values import Config
from kernel.db import models as orm
from kernel.security.tokens import (
    MIN_TOKEN_LENGTH,
    check_token,
    hash_token,
    provided_token_rounds,
    token_prefix,
)

log = logging.getLogger("kernelhub")


def apply_config(config: Config) -> None:
    """Create configured admins, allowed users, groups and tokens (call on a database
    thread)."""
    for name in listed_users(config, "admin_users"):
        user = _ensure_user(name)
        if not user.admin:
            orm.User.update(admin=True).where(orm.User.id == user.id).execute()
    for name in listed_users(config, "allowed_users"):
        _ensure_user(name)
    groups = {name: list(members) for name, members in config.hub.load_groups.items()}
    sections = config.collection("group")
    for name, section in sections.items():
        groups.setdefault(name, []).extend(section.users)
    for name, members in groups.items():
        group, _ = orm.Group.get_or_create(name=name)
        properties = sections[name].properties if name in sections else None
        if properties is not None:
            orm.Group.update(properties=properties).where(orm.Group.id == group.id).execute()
        for member in members:
            user = _ensure_user(member)
            orm.UserGroup.get_or_create(user=user, group=group)
    rounds = provided_token_rounds(config.hub.trust_user_provided_tokens)
    for token, name in config.hub.api_tokens.items():
        if len(token) < MIN_TOKEN_LENGTH:
            raise config.error(f"a token must have at least {MIN_TOKEN_LENGTH} characters",
                               "hub.api_tokens", token)
        user = _ensure_user(name)
        if not _token_exists(token):
            orm.APIToken.create(prefix=token_prefix(token), hashed=hash_token(token, rounds=rounds),
                                user=user, note="from hub.ini api_tokens",
                                scopes=["inherit"])


def _ensure_user(name: str) -> orm.User:
    user, created = orm.User.get_or_create(name=name)
    if created:
        log.info("Added user %s from hub.ini", name)
    return user


def _token_exists(token: str) -> bool:
    rows = orm.APIToken.select(orm.APIToken.hashed).where(
        orm.APIToken.prefix == token_prefix(token))
    return any(check_token(token, row.hashed) for row in rows)
