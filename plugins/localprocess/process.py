"""A server as a local process: start it, poll it, stop it gently then firmly, find it again.

Shared by the `localprocess` spawner (runs the server as the user's Unix
account) and the `simple` spawner (runs it as the hub's own user); they
differ only in the account, the working directory and USER/HOME/SHELL.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import shlex
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kernel.config import OptionRegistry
from kernel.config.types import Command, Number, Table
from kernel.spawner import Spawner

log = logging.getLogger("kernelhub.spawner")


def declare_process_options(options: OptionRegistry, section: str) -> None:
    """The options every local-process spawner has, in its own section."""
    options.add(section, "shell_cmd", Command(), [],
                "Run the server through this shell, e.g. `bash -l -c`, so login files are "
                "read; the server's command line is passed as one argument.")
    options.add(section, "popen_kwargs", Table(), {},
                "Extra keyword arguments for starting the process, `name = value` per line "
                "(values are strings).")
    options.add(section, "interrupt_timeout", Number(minimum=0), 30.0,
                "Seconds to wait after SIGINT before sending SIGTERM.")
    options.add(section, "term_timeout", Number(minimum=0), 30.0,
                "Seconds to wait after SIGTERM before sending SIGKILL.")
    options.add(section, "kill_timeout", Number(minimum=0), 5.0,
                "Seconds to wait after SIGKILL before giving up.")


class LocalProcessSpawner(Spawner):
    """Runs the server as a child process on this machine; subclasses choose the account."""

    #: The hub.ini section holding this spawner's own options.
    section = "localprocess"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = self.hub.config.section(self.section)
        self.shell_cmd: list[str] = list(options.shell_cmd)
        self.popen_kwargs: dict[str, str] = dict(options.popen_kwargs)
        self.interrupt_timeout: float = options.interrupt_timeout
        self.term_timeout: float = options.term_timeout
        self.kill_timeout: float = options.kill_timeout
        self.pid = 0
        #: The process's start time (from /proc), to tell it from a reused pid after a restart.
        self.start_ticks: int | None = None
        self.process: asyncio.subprocess.Process | None = None

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
            self.process = await asyncio.create_subprocess_exec(
                *command, env=env, cwd=self.working_directory(),
                preexec_fn=self.become_user(), start_new_session=True,
                **{key: _popen_value(value) for key, value in self.popen_kwargs.items()},
            )
        except FileNotFoundError:
            raise RuntimeError(f"the command {command[0]!r} was not found; check [spawner] "
                               "cmd and that it is installed where the server's PATH "
                               "looks") from None
        except PermissionError as e:
            raise RuntimeError(f"cannot run {command[0]!r}: {e.strerror}") from None
        self.pid = self.process.pid
        self.start_ticks = process_start_ticks(self.pid)
        return (self.ip or "127.0.0.1", self.port)

    async def poll(self) -> int | None:
        if self.process is not None:
            return self.process.returncode
        if not self.pid:
            return 0
        if process_alive(self.pid, self.start_ticks):
            return None
        self.clear_state()
        return 0

    async def stop(self, now: bool = False) -> None:
        steps = [(signal.SIGTERM, self.term_timeout), (signal.SIGKILL, self.kill_timeout)]
        if not now:
            steps.insert(0, (signal.SIGINT, self.interrupt_timeout))
        for signum, timeout in steps:
            if await self.poll() is not None:
                break
            self._signal(signum)
            if await self._wait(timeout):
                break
        else:
            log.error("%s's server (pid %d) did not exit after SIGKILL", self.user.name,
                      self.pid)
        self.clear_state()

    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"pid": self.pid} if self.pid else {}
        if self.start_ticks is not None:
            state["start_ticks"] = self.start_ticks
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        self.pid = int(state.get("pid", 0))
        self.start_ticks = state.get("start_ticks")

    def clear_state(self) -> None:
        self.pid = 0
        self.start_ticks = None
        self.process = None

    # -- helpers --------------------------------------------------------------------

    def _signal(self, signum: signal.Signals) -> None:
        if not self.pid:
            return
        try:
            if signum == signal.SIGKILL:
                # A forced stop leaves nothing behind: the server's kernels go too.
                os.killpg(self.pid, signum)
            else:
                os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    async def _wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the process to exit; whether it did."""
        if self.process is not None:
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                return False
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if not process_alive(self.pid, self.start_ticks):
                return True
            await asyncio.sleep(0.05)
        return not process_alive(self.pid, self.start_ticks)


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


def free_port(ip: str) -> int:
    """A TCP port that is free on ``ip`` right now."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


def process_start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), or None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields after it are plain.
    return int(stat.rsplit(")", 1)[1].split()[19])


def process_alive(pid: int, start_ticks: int | None) -> bool:
    """Whether ``pid`` still runs and is the same process (not a reused pid)."""
    try:
        os.kill(pid, 0)
    except OSError as e:
        if e.errno == errno.ESRCH:
            return False
        if e.errno != errno.EPERM:  # EPERM: it exists, as another user
            raise
    if start_ticks is not None:
        current = process_start_ticks(pid)
        if current is not None and current != start_ticks:
            return False
    return _not_a_zombie(pid)


def _not_a_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
