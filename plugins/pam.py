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
from typing import Any

import pamela
from starlette.concurrency import run_in_threadpool

from kernel import hookimpl
from kernel.config import OptionRegistry
from kernel.config.types import Boolean, Text, TextList
from kernel.hub import Hub
from kernel.spawner import Spawner
from kernel.users import User

log = logging.getLogger("kernelhub.auth.pam")

SECTION = "pam"


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.add(SECTION, "service", Text(), "login",
                "The PAM service (a file in /etc/pam.d) that checks passwords.")
    options.add(SECTION, "encoding", Text(), "utf8",
                "The text encoding PAM expects for names and passwords.")
    options.add(SECTION, "check_account", Boolean(), True,
                "Also ask PAM whether the account may log in now (locked, expired accounts).")
    options.add(SECTION, "open_sessions", Boolean(), False,
                "Open a PAM session when a user's server starts and close it when it stops.")
    options.add(SECTION, "admin_groups", TextList(), [],
                "Members of these Unix groups are admins.")
    options.add(SECTION, "allowed_groups", TextList(), [],
                "Members of these Unix groups may log in (besides [auth] allowed_users).")


def _groups_of(name: str) -> set[str]:
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        return set()
    gids = set(os.getgrouplist(name, account.pw_gid))
    return {g.gr_name for g in grp.getgrall() if g.gr_gid in gids}


def _check(hub: Hub, username: str, password: str) -> dict[str, Any] | None:
    """The blocking PAM conversation; a dict for the authenticate hook, or None."""
    options = hub.config.section(SECTION)
    try:
        # check= asks PAM's account stage too (locked, expired, not allowed now).
        pamela.authenticate(username, password, service=options.service,
                            encoding=options.encoding, check=options.check_account)
    except pamela.PAMError as e:
        log.warning("PAM refused %r (service %s): %s", username, options.service, e)
        return None
    groups = _groups_of(username)
    result: dict[str, Any] = {"name": username}
    if groups & set(options.admin_groups):
        result["admin"] = True
    if groups & set(options.allowed_groups):
        result["allowed"] = True  # an allow rule of this authenticator's own
    return result


@hookimpl
async def authenticate(hub: Hub, data: dict[str, str]) -> dict[str, Any] | None:
    username = data.get("username", "")
    password = data.get("password", "")
    if not username or not password:
        return None
    return await run_in_threadpool(_check, hub, username, password)


@hookimpl
async def pre_spawn_start(hub: Hub, user: User, spawner: Spawner) -> None:
    options = hub.config.section(SECTION)
    if options.open_sessions:
        await run_in_threadpool(_session, "open_session", user.name, options)


@hookimpl
async def post_spawn_stop(hub: Hub, user: User, spawner: Spawner) -> None:
    options = hub.config.section(SECTION)
    if options.open_sessions:
        await run_in_threadpool(_session, "close_session", user.name, options)


def _session(action: str, username: str, options: Any) -> None:
    try:
        getattr(pamela, action)(username, service=options.service, encoding=options.encoding)
    except pamela.PAMError as e:
        log.warning("PAM %s failed for %s: %s", action.replace("_", " "), username, e)
