"""The `simple` spawner: servers run as the hub's own user, each in its own home folder.

For demos, tests and single-user machines: no Unix account per user is
needed, and nothing separates one user's server from another's. Each server
runs in ``home_dir_template`` (default ``/tmp/{username}``), created if
missing.
"""

from __future__ import annotations

from pathlib import Path

from kernel import hookimpl
from kernel.config import Option, OptionRegistry
from kernel.config.types import Text
from kernel.hub import Hub
from kernel.users import Server, User
from plugins.localprocess.process import LocalProcessSpawner, ProcessOptions

SECTION = "simple"
PROCESS_OPTIONS = ProcessOptions.in_section(SECTION)
HOME_DIR_TEMPLATE = Option(SECTION, "home_dir_template", Text(), "/tmp/{username}",
                           "Each user's working folder; {username} is filled in.")


class SimpleLocalProcessSpawner(LocalProcessSpawner):
    process_options = PROCESS_OPTIONS

    @property
    def home(self) -> Path:
        return Path(self.format(self.hub.config[HOME_DIR_TEMPLATE]))

    def working_directory(self) -> str:
        self.home.mkdir(mode=0o755, parents=True, exist_ok=True)
        return str(self.home)

    def user_env(self) -> dict[str, str]:
        return {"USER": self.user.name, "HOME": str(self.home), "SHELL": "/bin/bash"}


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.declare(*PROCESS_OPTIONS.keys(), HOME_DIR_TEMPLATE)


@hookimpl
def spawn(hub: Hub, user: User, server: Server) -> SimpleLocalProcessSpawner:
    return SimpleLocalProcessSpawner(hub, user, server)
