"""The seam between the batch spawner and a scheduler: what a job is, and what a scheduler does.

A scheduler back end (Slurm here; PBS/Torque, LSF, SGE or HTCondor later) is
a ``Scheduler`` subclass: it submits a script as a user, cancels a job, lists
many jobs with one call, and finds a node's address. Everything else (the
script template, waiting in the queue, progress, polling, state) is shared by
``kernelhub_slurm.batch.BatchSpawner``.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class Phase(enum.Enum):
    """Where a job is, whatever the scheduler calls it."""

    QUEUED = "queued"
    RUNNING = "running"
    #: Its server is gone, but the scheduler still cleans up after it (Slurm's COMPLETING).
    ENDING = "ending"
    ENDED = "ended"


@dataclass(frozen=True)
class JobStatus:
    """One job as the queue listing shows it."""

    job_id: str
    phase: Phase
    #: The scheduler's own name of the state (PENDING, RUNNING, CANCELLED...).
    state: str
    #: Why it waits or ended, in the scheduler's words (Resources, Priority, PartitionDown).
    reason: str = ""
    #: The node it runs on ("" while queued).
    node: str = ""
    #: The port its server reported, once it has.
    port: int | None = None

    @property
    def over(self) -> bool:
        """Its server is gone (the job ends or ended)."""
        return self.phase in (Phase.ENDING, Phase.ENDED)

    def describe(self) -> str:
        """``PENDING (Resources)``, as squeue shows it."""
        return f"{self.state} ({self.reason})" if self.reason else self.state


class SchedulerError(RuntimeError):
    """A scheduler command failed; the message says which and what it printed."""


class Scheduler(ABC):
    """The commands of one batch scheduler, as the batch spawner uses them."""

    #: The job's script language, for the template (``#SBATCH``, ``#PBS``...).
    name: str = ""

    @abstractmethod
    async def submit(self, script: str, run_as: Sequence[str], env: Mapping[str, str]) -> str:
        """Submit ``script`` through the ``run_as`` command prefix with exactly ``env``;
        the job id. Raises SchedulerError with the scheduler's message when refused."""

    @abstractmethod
    async def cancel(self, job_id: str, run_as: Sequence[str], env: Mapping[str, str]) -> None:
        """Cancel a job (queued or running); a job that already ended is not an error."""

    @abstractmethod
    async def list_jobs(self, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        """The status of these jobs, with ONE call of the scheduler however many there
        are; a job the scheduler no longer knows is left out."""

    @abstractmethod
    async def node_address(self, node: str) -> str:
        """The address the hub reaches ``node`` at."""
