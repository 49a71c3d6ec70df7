"""Running scheduler commands off the event loop, as the hub's account or as a user."""

from __future__ import annotations

import asyncio
import logging
import os
import pwd
from collections.abc import Mapping, Sequence

from kernelhub_slurm.jobs import SchedulerError

log = logging.getLogger("kernelhub.slurm")

#: Where scheduler commands are looked for in a user's clean environment.
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
#: Variables of the hub's environment that say which cluster to talk to, passed on to
#: jobs on purpose; nothing else of the hub's environment is.
CLUSTER_VARIABLES = ("SLURM_CONF",)


def clean_env(username: str, variables: Mapping[str, str]) -> dict[str, str]:
    """A job's whole environment: the account's own variables, the cluster's, ``variables``.

    The hub's own environment (its secrets, its PATH, its virtualenv) never
    reaches a job: everything else is left out.
    """
    env = {"PATH": SAFE_PATH, "LANG": "C.UTF-8"}
    try:
        account = pwd.getpwnam(username)
    except KeyError:
        pass  # a site that submits through a service account: run_as decides
    else:
        env.update(USER=account.pw_name, LOGNAME=account.pw_name, HOME=account.pw_dir,
                   SHELL=account.pw_shell)
    env.update({key: os.environ[key] for key in CLUSTER_VARIABLES if key in os.environ})
    env.update(variables)
    return env


async def run(command: Sequence[str], *, env: Mapping[str, str] | None = None,
              stdin: str = "") -> str:
    """The command's standard output; SchedulerError with its message when it fails."""
    try:
        process = await asyncio.create_subprocess_exec(
            *command, env=None if env is None else dict(env),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
    except OSError as e:
        raise SchedulerError(f"cannot run {command[0]}: {e.strerror}; install the scheduler's "
                             "commands on the hub's machine or fix PATH") from None
    out, err = await process.communicate(stdin.encode())
    if process.returncode != 0:
        message = err.decode(errors="replace").strip() or out.decode(errors="replace").strip()
        raise SchedulerError(f"{command_name(command)} failed: {message}")
    return out.decode(errors="replace")


def command_name(command: Sequence[str]) -> str:
    """The scheduler command inside a ``runuser -u alice -- sbatch ...`` line."""
    after = list(command)
    if "--" in after:
        after = after[after.index("--") + 1:]
    return os.path.basename(after[0]) if after else ""
