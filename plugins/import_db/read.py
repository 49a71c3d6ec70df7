"""What of a JupyterHub database kernelhub takes, as ``kernel.restore`` records.

Taken: users, groups with properties and members, roles and who holds them,
services made through the REST API, API tokens of users and services (their
JupyterHub hashes, so the tokens keep working), stopped named and default
servers, shares. Left out, each with the reason the summary prints: OAuth
tokens (kernelhub's OAuth clients are its own: people log in again), expired
tokens and shares, share codes (JupyterHub keeps a salted hash, kernelhub
looks codes up by an unsalted one: owners make new codes), auth state that
kernelhub's ``JUPYTERHUB_CRYPT_KEY`` cannot decrypt, spawner state (it
belongs to JupyterHub's spawner).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kernel.clock import utcnow
from kernel.restore import (
    TOKENS,
    USERS,
    ImportedGroup,
    ImportedRole,
    ImportedServer,
    ImportedService,
    ImportedToken,
    ImportedUser,
    Snapshot,
)
from kernel.security.auth_state import AuthStateCrypt, AuthStateError
from plugins.import_db.source import JupyterHubDatabase

#: The OAuth client of tokens made through the REST API (``POST /users/NAME/tokens``).
API_TOKEN_CLIENT = "jupyterhub"
SHARES, SHARE_CODES = "shares", "share codes"


@dataclass
class ImportedShare:
    """A user's or a group's share of a server (written by the sharing plugin's tables)."""

    owner: str
    server: str
    user: str | None
    group: str | None
    scopes: list[str]
    created_at: datetime | None


@dataclass
class JupyterHubData:
    revision: str
    snapshot: Snapshot
    shares: list[ImportedShare] = field(default_factory=list)
    #: "user/server" of each server JupyterHub still has running.
    running: list[str] = field(default_factory=list)


def read(source: JupyterHubDatabase, crypt: AuthStateCrypt | None) -> JupyterHubData:
    """Everything kernelhub takes from ``source``; ``crypt`` (kernelhub's auth state keys,
    None when unset) decides whether encrypted auth state is copied."""
    snapshot = Snapshot()
    users = {row["id"]: row["name"]
             for row in source.rows("SELECT id, name FROM users ORDER BY id")}
    groups = {row["id"]: row["name"]
              for row in source.rows("SELECT id, name FROM groups ORDER BY id")}
    services = {row["id"]: row for row in source.rows("SELECT * FROM services ORDER BY id")}
    spawners = {row["id"]: row for row in source.rows("SELECT * FROM spawners ORDER BY id")}
    snapshot.users = list(_users(source, crypt, snapshot))
    snapshot.groups = _groups(source, users)
    snapshot.services = [
        ImportedService(row["name"], bool(row["admin"]), row["url"],
                        row["display"] is None or bool(row["display"]), row["info"] or {},
                        row["oauth_client_allowed_scopes"] or [])
        for row in services.values() if not row["from_config"]]
    snapshot.roles = _roles(source, users, groups, services)
    snapshot.tokens = list(_tokens(source, users, services, snapshot))
    running = [f"{users[row['user_id']]}/{row['name'] or ''}" for row in spawners.values()
               if row["server_id"] is not None]
    # A stopped server's spawner state is JupyterHub's spawner's (a PID, a container):
    # kernelhub's spawner starts the server afresh.
    snapshot.servers = [
        ImportedServer(users[row["user_id"]], row["name"] or "", row.get("display_name") or "",
                       row["user_options"], row["last_activity"])
        for row in spawners.values() if row["server_id"] is None]
    shares = list(_shares(source, users, groups, spawners, snapshot))
    codes = len(source.rows("SELECT id FROM share_codes"))
    if codes:
        snapshot.left_out[SHARE_CODES, "hashed differently: owners make new codes"] += codes
    return JupyterHubData(source.revision, snapshot, shares, running)


def _groups(source: JupyterHubDatabase, users: dict[int, str]) -> list[ImportedGroup]:
    members = defaultdict(list)
    for row in source.rows("SELECT user_id, group_id FROM user_group_map"):
        members[row["group_id"]].append(users[row["user_id"]])
    return [ImportedGroup(row["name"], row["properties"] or {}, members[row["id"]])
            for row in source.rows("SELECT id, name, properties FROM groups ORDER BY id")]


def _shares(source: JupyterHubDatabase, users: dict[int, str], groups: dict[int, str],
            spawners: dict[int, dict[str, Any]], snapshot: Snapshot) -> Iterator[ImportedShare]:
    now = utcnow()
    for row in source.rows("SELECT * FROM shares ORDER BY id"):
        if row["expires_at"] is not None:
            why = "expired" if row["expires_at"] <= now else "has an expiry (kernelhub: none)"
            snapshot.left_out[SHARES, why] += 1
            continue
        yield ImportedShare(
            users[row["owner_id"]], spawners[row["spawner_id"]]["name"] or "",
            users.get(row["user_id"]), groups.get(row["group_id"]), row["scopes"] or [],
            row["created_at"])


def _users(source: JupyterHubDatabase, crypt: AuthStateCrypt | None,
           snapshot: Snapshot) -> Iterator[ImportedUser]:
    for row in source.rows("SELECT * FROM users ORDER BY id"):
        auth_state = row["encrypted_auth_state"]
        if auth_state is not None and not _decrypts(crypt, auth_state):
            snapshot.left_out[USERS, "auth state not copied: set kernelhub's "
                                     "JUPYTERHUB_CRYPT_KEY to JupyterHub's"] += 1
            auth_state = None
        yield ImportedUser(row["name"], bool(row["admin"]), row["created"],
                           row["last_activity"], auth_state)


def _decrypts(crypt: AuthStateCrypt | None, data: bytes) -> bool:
    if crypt is None:
        return False
    try:
        crypt.decrypt(data)
    except AuthStateError:
        return False
    return True


def _roles(source: JupyterHubDatabase, users: dict[int, str], groups: dict[int, str],
           services: dict[int, dict[str, Any]]) -> list[ImportedRole]:
    roles = {row["id"]: ImportedRole(row["name"], row["description"] or "", row["scopes"] or [])
             for row in source.rows("SELECT * FROM roles ORDER BY id")}
    holders: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for table in ("user", "group", "service"):
        for row in source.rows(f"SELECT * FROM {table}_role_map"):
            holders[table].append((row[f"{table}_id"], row["role_id"]))
    for user_id, role_id in holders["user"]:
        roles[role_id].users.append(users[user_id])
    for group_id, role_id in holders["group"]:
        roles[role_id].groups.append(groups[group_id])
    for service_id, role_id in holders["service"]:
        roles[role_id].services.append(services[service_id]["name"])
    return list(roles.values())


def _tokens(source: JupyterHubDatabase, users: dict[int, str],
            services: dict[int, dict[str, Any]], snapshot: Snapshot
            ) -> Iterator[ImportedToken]:
    for row in source.rows("SELECT * FROM api_tokens ORDER BY id"):
        if row["client_id"] not in (None, API_TOKEN_CLIENT):
            snapshot.left_out[TOKENS, "OAuth token of a login: people log in again"] += 1
            continue
        service = services.get(row["service_id"])
        yield ImportedToken(
            row["prefix"], row["hashed"], users.get(row["user_id"]),
            service["name"] if service else None, row["scopes"] or [], row["note"] or "",
            row["created"], row["expires_at"], row["last_activity"])
