"""The `dummy` authenticator: one shared password for everyone, for demos and tests.

With ``[dummy] password`` set, any user name logs in with that password;
without it, any password is accepted, which is only acceptable on a machine
nobody else can reach. Pair it with ``[auth] allow_all = true`` or an
``[auth] allowed_users`` list, as with every authenticator.
"""

from __future__ import annotations

import hmac
import logging

from kernel import hookimpl
from kernel.config import Option, OptionRegistry
from kernel.config.types import Text
from kernel.hub import Hub

log = logging.getLogger("kernelhub.auth.dummy")

PASSWORD = Option("dummy", "password", Text(), "",
                  "The password every user logs in with. Empty: any password works "
                  "(testing only).")


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.declare(PASSWORD)


@hookimpl
def hub_startup(hub: Hub) -> None:
    if not hub.config[PASSWORD]:
        log.warning("The dummy authenticator accepts ANY password: set [dummy] password, "
                    "or use a real authenticator outside of testing")


@hookimpl
def authenticate(hub: Hub, data: dict[str, str]) -> str | None:
    password = hub.config[PASSWORD]
    given = data.get("password", "")
    if password and not hmac.compare_digest(given.encode(), password.encode()):
        return None
    return data.get("username") or None
