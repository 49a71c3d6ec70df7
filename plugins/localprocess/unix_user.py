"""The `localprocess` spawner (the default): each server runs as its user's Unix account.

The hub must run as root to start servers as other users (or as the one
user every server belongs to). The server gets the account's uid, gid and
supplementary groups, starts in its home folder, and sees USER, HOME and
SHELL from the password database. With internal TLS its certificate is
copied into its home folder, readable by it alone.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Callable

from kernel import hookimpl
from kernel.config import OptionRegistry
from kernel.errors import HubError
from kernel.hub import Hub
from kernel.tls import CertFiles, copy_for_account
from kernel.users import Server, User
from plugins.localprocess.process import LocalProcessSpawner, ProcessOptions
from plugins.support.process import ProcessError, switch_to, unix_account

PROCESS_OPTIONS = ProcessOptions.in_section("localprocess")


class UnixUserSpawner(LocalProcessSpawner):
    process_options = PROCESS_OPTIONS

    @property
    def account(self) -> pwd.struct_passwd:
        try:
            return unix_account(self.user.name)
        except ProcessError as e:
            raise HubError(500, f"{e} for {self.user.name}'s server to run as; create it, "
                                "or use the `simple` spawner") from None

    def user_env(self) -> dict[str, str]:
        account = self.account
        return {"USER": account.pw_name, "HOME": account.pw_dir, "SHELL": account.pw_shell}

    def working_directory(self) -> str:
        home = self.account.pw_dir
        return home if os.path.isdir(home) else "/"

    async def move_certs(self, files: CertFiles) -> CertFiles:
        """Copy the certificate into the account's home, readable by it alone (the hub's
        store is not readable by users), as JupyterHub does."""
        return copy_for_account(files, self.account)

    def become_user(self) -> Callable[[], None] | None:
        try:
            return switch_to(self.account)
        except ProcessError as e:
            raise HubError(500, f"{e}, or use the `simple` spawner") from None


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.declare(*PROCESS_OPTIONS.keys())


@hookimpl
def spawn(hub: Hub, user: User, server: Server) -> UnixUserSpawner:
    return UnixUserSpawner(hub, user, server)
