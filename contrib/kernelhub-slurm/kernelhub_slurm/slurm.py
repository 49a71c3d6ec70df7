"""Slurm's commands for the batch spawner: sbatch, scancel, one squeue for all jobs, sinfo."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kernelhub_slurm.commands import run
from kernelhub_slurm.jobs import JobStatus, Phase, Scheduler, SchedulerError

#: What the job script writes into its job's comment once its server has a port.
PORT_MARK = "kernelhub-port="
#: Job states that mean the job is over; anything else still may run.
ENDED_STATES = frozenset({
    "BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL",
    "OUT_OF_MEMORY", "PREEMPTED", "REVOKED", "SPECIAL_EXIT", "TIMEOUT",
})
#: squeue's machine format: id, state, reason, node, comment (last: it is free text).
SQUEUE_FORMAT = "%i|%T|%r|%N|%k"


@dataclass(frozen=True)
class Partition:
    """A partition as sinfo lists it, for the options form."""

    name: str
    is_default: bool
    up: bool
    time_limit: str
    cpus: int
    memory_mb: int

    def describe(self) -> str:
        limit = "no time limit" if self.time_limit == "infinite" else f"up to {self.time_limit}"
        state = "" if self.up else ", down"
        return f"{self.name} ({self.cpus} CPUs, {self.memory_mb} MB a node, {limit}{state})"


class Slurm(Scheduler):
    name = "slurm"

    def __init__(self) -> None:
        self._addresses: dict[str, str] = {}

    async def submit(self, script: str, run_as: Sequence[str], env: Mapping[str, str]) -> str:
        out = await run([*run_as, "sbatch", "--parsable"], env=env, stdin=script)
        # --parsable prints "id" or "id;cluster".
        job_id = out.strip().split(";")[0]
        if not job_id.isdigit():
            raise SchedulerError(f"sbatch printed no job id but: {out.strip()!r}")
        return job_id

    async def cancel(self, job_id: str, run_as: Sequence[str], env: Mapping[str, str]) -> None:
        try:
            await run([*run_as, "scancel", job_id], env=env)
        except SchedulerError as e:
            if "already completing or completed" not in str(e) and "Invalid job id" not in str(e):
                raise

    async def list_jobs(self, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        if not job_ids:
            return {}
        try:
            out = await run(["squeue", "--noheader", "--states=all", f"--jobs={','.join(job_ids)}",
                             f"--format={SQUEUE_FORMAT}"])
        except SchedulerError as e:
            # squeue refuses a list made only of ids it has forgotten: then none is known.
            if "Invalid job id" in str(e):
                return {}
            raise
        return parse_squeue(out)

    async def node_address(self, node: str) -> str:
        if node not in self._addresses:
            out = await run(["sinfo", "--noheader", "--Node", "--format=%N|%o"])
            for line in out.splitlines():
                name, _, address = line.strip().partition("|")
                self._addresses[name] = address or name
        return self._addresses.get(node, node)


def parse_sinfo_partitions(out: str) -> list[Partition]:
    """sinfo's ``%P|%a|%l|%c|%m`` lines as partitions (the default one ends with ``*``)."""
    partitions: dict[str, Partition] = {}
    for line in out.splitlines():
        if not line.strip():
            continue
        name, avail, limit, cpus, memory = line.strip().split("|")
        is_default = name.endswith("*")
        name = name.rstrip("*")
        if name not in partitions:  # one line per group of alike nodes: keep the first
            partitions[name] = Partition(name, is_default, avail == "up", limit,
                                         _number(cpus), _number(memory))
    return list(partitions.values())


def parse_squeue(out: str) -> dict[str, JobStatus]:
    """squeue's lines in ``SQUEUE_FORMAT`` as statuses by job id."""
    jobs = {}
    for line in out.splitlines():
        if not line.strip():
            continue
        job_id, state, reason, node, comment = line.strip().split("|", 4)
        phase = (Phase.ENDED if state in ENDED_STATES else Phase.ENDING if state == "COMPLETING"
                 else Phase.RUNNING if state == "RUNNING" else Phase.QUEUED)
        jobs[job_id] = JobStatus(job_id, phase, state, "" if reason == "None" else reason,
                                 "" if node in ("", "(null)") else node, _port(comment))
    return jobs


def _port(comment: str) -> int | None:
    for word in comment.split():
        if word.startswith(PORT_MARK) and word[len(PORT_MARK):].isdigit():
            return int(word[len(PORT_MARK):])
    return None


def _number(text: str) -> int:
    """sinfo's ``2`` or ``2+`` (nodes differ) as 2."""
    digits = text.rstrip("+")
    return int(digits) if digits.isdigit() else 0
