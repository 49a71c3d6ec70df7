"""A server as a local process, started, polled and stopped through `plugins.support.process`.

Shared by the `localprocess` spawner (runs the server as the user's Unix
account) and the `simple` spawner (runs it as the hub's own user); they
differ only in the account, the working directory and USER/HOME/SHELL.
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from kernel.config import Option
from kernel.config.types import Command, Number, Table
from kernel.errors import HubError
from kernel.spawner import Spawner
from plugins.support.process import ChildProcess, ProcessError, free_port

log = logging.getLogger("kernelhub.spawner")


@dataclass(frozen=True)
class ProcessOptions:
    """The typed keys of the options every local-process spawner has, in its own section."""

    shell_cmd: Option[list[str]]
    popen_kwargs: Option[dict[str, Any]]
    interrupt_timeout: Option[float]
    term_timeout: Option[float]
    kill_timeout: Option[float]

    @classmethod
    def in_section(cls, section: str) -> ProcessOptions:
        return cls(
            shell_cmd=Option(
                section, "shell_cmd", Command(), [],
                "Run the server through this shell, e.g. `bash -l -c`, so login files are "
                "read; the server's command line is passed as one argument."),
            popen_kwargs=Option(
                section, "popen_kwargs", Table(), {},
                "Extra keyword arguments for starting the process, `name = value` per line "
                "(values are strings)."),
            interrupt_timeout=Option(section, "interrupt_timeout", Number(minimum=0), 30.0,
                                     "Seconds to wait after SIGINT before sending SIGTERM."),
            term_timeout=Option(section, "term_timeout", Number(minimum=0), 30.0,
                                "Seconds to wait after SIGTERM before sending SIGKILL."),
            kill_timeout=Option(section, "kill_timeout", Number(minimum=0), 5.0,
                                "Seconds to wait after SIGKILL before giving up."),
        )

    def keys(self) -> tuple[Option[Any], ...]:
        """Every key, in the order they are declared."""
        return (self.shell_cmd, self.popen_kwargs, self.interrupt_timeout, self.term_timeout,
                self.kill_timeout)


class LocalProcessSpawner(Spawner):
    """Runs the server as a child process on this machine; subclasses choose the account."""

    #: The keys of this spawner's own options, in its own hub.ini section.
    process_options: ClassVar[ProcessOptions]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        config, keys = self.hub.config, self.process_options
        self.shell_cmd: list[str] = list(config[keys.shell_cmd])
        self.popen_kwargs: dict[str, str] = dict(config[keys.popen_kwargs])
        self.interrupt_timeout: float = config[keys.interrupt_timeout]
        self.term_timeout: float = config[keys.term_timeout]
        self.kill_timeout: float = config[keys.kill_timeout]
        self.child = ChildProcess()

    @property
    def pid(self) -> int:
        return self.child.pid

    # -- what subclasses decide -------------------------------------------------

    def working_directory(self) -> str:
        raise NotImplementedError

    def become_user(self) -> Callable[[], None] | None:
        """A function the child runs before exec to switch accounts, or None to stay."""
        return None

    # -- the contract -------------------------------------------------------------

    async def start(self) -> tuple[str, int]:
        if not self.port:
            self.port = free_port(self.ip or "127.0.0.1")
        command = self.get_args()
        if self.shell_cmd:
            command = [*self.shell_cmd, shlex.join(command)]
        env = self.get_env()
        env["PATH"] = _with_hub_bin(env.get("PATH", ""))
        log.info("Starting %s's server: %s", self.user.name, shlex.join(command))
        try:
            await self.child.start(
                command, env=env, cwd=self.working_directory(), as_user=self.become_user(),
                **{key: _popen_value(value) for key, value in self.popen_kwargs.items()})
        except ProcessError as e:
            raise HubError(500, f"{e} (the server's command is [spawner] cmd)") from None
        return (self.ip or "127.0.0.1", self.port)

    async def poll(self) -> int | None:
        return await self.child.poll()

    async def stop(self, now: bool = False) -> None:
        steps = [(signal.SIGTERM, self.term_timeout), (signal.SIGKILL, self.kill_timeout)]
        if not now:
            steps.insert(0, (signal.SIGINT, self.interrupt_timeout))
        if not await self.child.stop(steps):
            log.error("%s's server (pid %d) did not exit after SIGKILL", self.user.name,
                      self.pid)
        self.clear_state()

    def get_state(self) -> dict[str, Any]:
        return self.child.state()

    def load_state(self, state: dict[str, Any]) -> None:
        self.child.load(state)

    def clear_state(self) -> None:
        self.child.forget()


def _with_hub_bin(path: str) -> str:
    """PATH with the hub's own bin folder first, so servers find what is installed with it.

    A hub run as /opt/hub/bin/kernel without activating its virtualenv would
    otherwise start servers that cannot find jupyterhub-singleuser.
    """
    hub_bin = str(Path(sys.executable).parent)
    return path if hub_bin in path.split(os.pathsep) else os.pathsep.join(
        p for p in (hub_bin, path) if p)


def _popen_value(text: str) -> Any:
    """hub.ini gives strings; Popen wants numbers (umask = 0o077) and flags as such."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(lowered, 0)
    except ValueError:
        return text
