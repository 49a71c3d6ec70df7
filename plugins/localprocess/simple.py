"""The `simple` spawner: servers run as the hub's own user, each in its own home folder.

For demos, tests and single-user machines: no Unix account per user is
needed, and nothing separates one user's server from another's. Each server
runs in ``home_dir_template`` (default ``/tmp/{username}``), created if
missing.
"""

from __future__ import annotations

from pathlib import Path

from kernel import hookimpl
from kernel.config import OptionRegistry
from kernel.config.types import Text
from kernel.hub import Hub
from kernel.users import Server, User
from plugins.localprocess.process import LocalProcessSpawner, declare_process_options


class SimpleLocalProcessSpawner(LocalProcessSpawner):
    section = "simple"

    @property
    def home(self) -> Path:
        template = self.hub.config.section("simple").home_dir_template
        return Path(self.format(template))

    def working_directory(self) -> str:
        self.home.mkdir(mode=0o755, parents=True, exist_ok=True)
        return str(self.home)

    def user_env(self) -> dict[str, str]:
        return {"USER": self.user.name, "HOME": str(self.home), "SHELL": "/bin/bash"}


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    declare_process_options(options, "simple")
    options.add("simple", "home_dir_template", Text(), "/tmp/{username}",
                "Each user's working folder; {username} is filled in.")


@hookimpl
def spawn(hub: Hub, user: User, server: Server) -> SimpleLocalProcessSpawner:
    return SimpleLocalProcessSpawner(hub, user, server)
