"""Child processes the hub runs on this machine: users' servers and managed services.

Start one (as another Unix account when the hub is root), ask whether it
still runs, stop it gently then firmly, and find it again after the hub
restarted, by pid and start time, so that a reused pid is not mistaken for
it.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import pwd
import signal
import socket
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("kernelhub.process")

#: (signal, seconds to wait for the process to exit after it).
StopStep = tuple[signal.Signals, float]


class ProcessError(Exception):
    """The process cannot be started; the message says why and what to do."""


class ChildProcess:
    """One process: its pid, and the start time that tells it from a later one."""

    def __init__(self) -> None:
        self.pid = 0
        self.start_ticks: int | None = None
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, command: Sequence[str], *, env: dict[str, str], cwd: str | None,
                    as_user: Callable[[], None] | None = None, **popen: Any) -> int:
        """Start ``command`` in a session of its own; its pid."""
        try:
            self.process = await asyncio.create_subprocess_exec(
                *command, env=env, cwd=cwd, preexec_fn=as_user, start_new_session=True,
                **popen)
        except FileNotFoundError:
            raise ProcessError(f"the command {command[0]!r} was not found; check that it is "
                               "installed where PATH looks") from None
        except PermissionError as e:
            raise ProcessError(f"cannot run {command[0]!r}: {e.strerror}") from None
        self.pid = self.process.pid
        self.start_ticks = process_start_ticks(self.pid)
        return self.pid

    async def poll(self) -> int | None:
        """None while it runs; its exit status (0 when unknown) once it stopped."""
        if self.process is not None:
            if self.process.returncode is None and not process_alive(self.pid, self.start_ticks):
                # Exited, but the event loop has yet to hear it from its child watcher
                # (which reaps in a thread): the status is on its way.
                return await self.process.wait()
            return self.process.returncode
        if not self.pid:
            return 0
        if process_alive(self.pid, self.start_ticks):
            return None
        self.forget()
        return 0

    async def stop(self, steps: Sequence[StopStep]) -> bool:
        """Signal it step by step until it exits; whether it did.

        The last step's signal goes to the whole process group: a forced stop
        leaves nothing behind (a server's kernels, a service's workers).
        """
        for index, (signum, timeout) in enumerate(steps):
            if await self.poll() is not None:
                return True
            self._signal(signum, group=index == len(steps) - 1)
            if await self._wait(timeout):
                return True
        return await self.poll() is not None

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"pid": self.pid} if self.pid else {}
        if self.start_ticks is not None:
            state["start_ticks"] = self.start_ticks
        return state

    def load(self, state: dict[str, Any]) -> None:
        self.pid = int(state.get("pid", 0))
        self.start_ticks = state.get("start_ticks")

    def forget(self) -> None:
        self.pid = 0
        self.start_ticks = None
        self.process = None

    def _signal(self, signum: signal.Signals, *, group: bool) -> None:
        if not self.pid:
            return
        try:
            if group:
                os.killpg(self.pid, signum)
            else:
                os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    async def _wait(self, timeout: float) -> bool:
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


def switch_to(account: pwd.struct_passwd) -> Callable[[], None] | None:
    """What the child runs before exec to become ``account`` (None: it already is).

    The hub must be root to start a process as another account.
    """
    if os.geteuid() == account.pw_uid:
        return None
    if os.geteuid() != 0:
        raise ProcessError(f"the hub runs as uid {os.geteuid()} and cannot start a process "
                           f"as {account.pw_name}: run the hub as root")
    groups = os.getgrouplist(account.pw_name, account.pw_gid)

    def switch() -> None:
        os.setgid(account.pw_gid)
        os.setgroups(groups)
        os.setuid(account.pw_uid)

    return switch


def unix_account(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise ProcessError(f"there is no Unix account named {name!r}") from None


#: How long a port handed out stays reserved: its server may not have bound it yet.
PORT_HOLD_SECONDS = 300.0
_handed_out: dict[tuple[str, int], float] = {}


def free_port(ip: str) -> int:
    """A TCP port free on ``ip`` now and not handed out in the last five minutes.

    The operating system may offer a port again before the server it went to
    has bound it; two servers given one port would leave the second user's
    route pointing at the first user's server.
    """
    now = time.monotonic()
    for key in [k for k, when in _handed_out.items() if now - when > PORT_HOLD_SECONDS]:
        del _handed_out[key]
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    for _ in range(100):
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((ip, 0))
            port = s.getsockname()[1]
        if (ip, port) not in _handed_out:
            _handed_out[(ip, port)] = now
            return port
    raise ProcessError(f"no free TCP port on {ip}")


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
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # a zombie has exited
        return False
    return start_ticks is None or int(fields[19]) == start_ticks
