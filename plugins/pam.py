"""The `pam` authenticator (the default): log in with the machine's own accounts, through PAM.

Checking another user's password needs the hub to run as root (or in the
``shadow`` group). PAM calls block, so they run in a thread pool and never
stall the hub. With ``open_sessions``, a PAM session is opened before each
server starts and closed after it stops; ``admin_groups`` and
``allowed_groups`` grant admin rights and login by Unix group.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd

import pamela
from starlette.concurrency import run_in_threadpool

from kernel import hookimpl
from kernel.api import AuthResult
from kernel.config import Config, Option, OptionRegistry
from kernel.config.types import Boolean, Text, TextList
from kernel.hub import Hub
from kernel.spawner import Spawner
from kernel.users import User

log = logging.getLogger("kernelhub.auth.pam")

SECTION = "pam"
SERVICE = Option(SECTION, "service", Text(), "login",
                 "The PAM service (a file in /etc/pam.d) that checks passwords.")
ENCODING = Option(SECTION, "encoding", Text(), "utf8",
                  "The text encoding PAM expects for names and passwords.")
CHECK_ACCOUNT = Option(SECTION, "check_account", Boolean(), True,
                       "Also ask PAM whether the account may log in now (locked, expired "
                       "accounts).")
OPEN_SESSIONS = Option(SECTION, "open_sessions", Boolean(), False,
                       "Open a PAM session when a user's server starts and close it when it "
                       "stops.")
ADMIN_GROUPS = Option(SECTION, "admin_groups", TextList(), [],
                      "Members of these Unix groups are admins.")
ALLOWED_GROUPS = Option(SECTION, "allowed_groups", TextList(), [],
                        "Members of these Unix groups may log in (besides [auth] "
                        "allowed_users).")


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.declare(SERVICE, ENCODING, CHECK_ACCOUNT, OPEN_SESSIONS, ADMIN_GROUPS,
                    ALLOWED_GROUPS)


def _groups_of(name: str) -> set[str]:
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        return set()
    gids = set(os.getgrouplist(name, account.pw_gid))
    return {g.gr_name for g in grp.getgrall() if g.gr_gid in gids}


def _check(hub: Hub, username: str, password: str) -> AuthResult | None:
    """The blocking PAM conversation; the authenticate hook's answer."""
    config = hub.config
    try:
        # check= asks PAM's account stage too (locked, expired, not allowed now).
        pamela.authenticate(username, password, service=config[SERVICE],
                            encoding=config[ENCODING], check=config[CHECK_ACCOUNT])
    except pamela.PAMError as e:
        log.warning("PAM refused %r (service %s): %s", username, config[SERVICE], e)
        return None
    groups = _groups_of(username)
    # admin None leaves the admin flag as it is; allowed is an allow rule of PAM's own.
    return AuthResult(name=username, admin=True if groups & set(config[ADMIN_GROUPS]) else None,
                      allowed=bool(groups & set(config[ALLOWED_GROUPS])))


@hookimpl
async def authenticate(hub: Hub, data: dict[str, str]) -> AuthResult | None:
    username = data.get("username", "")
    password = data.get("password", "")
    if not username or not password:
        return None
    return await run_in_threadpool(_check, hub, username, password)


@hookimpl
async def pre_spawn_start(hub: Hub, user: User, spawner: Spawner) -> None:
    if hub.config[OPEN_SESSIONS]:
        await run_in_threadpool(_session, "open_session", user.name, hub.config)


@hookimpl
async def post_spawn_stop(hub: Hub, user: User, spawner: Spawner) -> None:
    if hub.config[OPEN_SESSIONS]:
        await run_in_threadpool(_session, "close_session", user.name, hub.config)


def _session(action: str, username: str, config: Config) -> None:
    try:
        getattr(pamela, action)(username, service=config[SERVICE], encoding=config[ENCODING])
    except pamela.PAMError as e:
        log.warning("PAM %s failed for %s: %s", action.replace("_", " "), username, e)
