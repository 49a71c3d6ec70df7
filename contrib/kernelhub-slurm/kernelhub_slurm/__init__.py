"""The `slurm` spawner: each user's server runs as a Slurm batch job.

Choose it with ``[hub] spawner_class = slurm`` and configure it in ``[slurm]``
(see the README). The hub runs one ``squeue`` per ``queue_interval`` for all
of its jobs (``kernelhub_slurm.jobqueue``); the batch spawner core
(``kernelhub_slurm.batch``) is shared with future schedulers
(``kernelhub_slurm.jobs`` is the seam).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.api import hookimpl
from kernelhub_slurm import options as slurm_options
from kernelhub_slurm.batch import queue_key
from kernelhub_slurm.spawner import SlurmSpawner

if TYPE_CHECKING:
    from kernel.api import Hub, OptionRegistry, Server, User


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.declare(*slurm_options.ALL)


@hookimpl
def spawn(hub: Hub, user: User, server: Server) -> SlurmSpawner:
    return SlurmSpawner(hub, user, server)


@hookimpl
def hub_shutdown(hub: Hub) -> None:
    # Jobs keep running (cleanup_servers decides); only the hub's listing stops.
    if queue_key in hub.stash:
        hub.stash[queue_key].close()
