"""Slurm queue polling: one squeue for all of the hub's jobs against one squeue per job.

    python bench/slurm_queue.py               # 200 jobs, 5 poll rounds, about a minute
    python bench/slurm_queue.py --jobs 50     # a quick look

Starts a private one-node Slurm cluster (the test suite's, with as many CPUs
as jobs so that every job runs), submits N trivial jobs (``sleep``), then
polls them round after round two ways: kernelhub-slurm's ``JobQueue`` (one
``squeue --jobs=...`` per round for every job) and batchspawner's way (each
server's own ``squeue -h -j ID -o '%T %B'``, all at once, as N pollers would).
Prints one table per way and the ratio: slurmctld's job-info requests per
round (counted by ``sdiag``), wall time per round, and the polling process's
CPU per round (its own, and that of the squeue processes it ran). Needs root,
``slurm-wlm`` and ``munge``, and kernelhub-slurm installed. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from kernelhub_slurm.commands import run
from kernelhub_slurm.jobqueue import JobQueue
from kernelhub_slurm.slurm import Slurm

sys.path.insert(0, str(Path(__file__).parent.parent / "contrib" / "kernelhub-slurm" / "tests"))
# The test suite's cluster helper, found on the path just set.
from cluster import SlurmCluster, slurm_cluster

JOB_INFO = "REQUEST_JOB_INFO"


def cpu_seconds() -> tuple[float, float]:
    """This process's CPU seconds, and its finished children's."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


async def measure(cluster: SlurmCluster, rounds: int,
                  poll_round: Callable[[], Awaitable[None]]) -> dict[str, float]:
    """Per round: slurmctld's job-info requests, wall seconds, own and children's CPU ms."""
    requests_before = cluster.sdiag_count(JOB_INFO)
    own_before, children_before = cpu_seconds()
    began = time.perf_counter()
    for _ in range(rounds):
        await poll_round()
    wall = time.perf_counter() - began
    own_after, children_after = cpu_seconds()
    # sdiag itself is not a job-info request, so the difference is the polling alone.
    requests = cluster.sdiag_count(JOB_INFO) - requests_before
    return {"squeue requests": requests / rounds, "wall ms": wall * 1000 / rounds,
            "own CPU ms": (own_after - own_before) * 1000 / rounds,
            "squeue CPU ms": (children_after - children_before) * 1000 / rounds}


async def compare(cluster: SlurmCluster, job_ids: list[str], rounds: int) -> None:
    queue = JobQueue(Slurm(), interval=3600)  # rounds on demand only
    for job_id in job_ids:
        queue.watch(job_id, lambda status: None)
    await queue.next_round(soon=True)  # the first listing starts the queue
    running = sum(1 for j in job_ids if (s := queue.latest(j)) and s.phase.value == "running")

    async def one_listing() -> None:
        await queue.next_round(soon=True)

    async def one_squeue_per_job() -> None:
        await asyncio.gather(*(run(["squeue", "-h", "-j", job_id, "-o", "%T %B"])
                               for job_id in job_ids))

    shared = await measure(cluster, rounds, one_listing)
    per_job = await measure(cluster, rounds, one_squeue_per_job)
    queue.close()
    print(f"{len(job_ids)} jobs ({running} running), {rounds} rounds each, load average "
          f"{os.getloadavg()[0]:.2f}")
    print(f"{'per poll round':<18}{'one squeue (kernelhub)':>24}{'squeue per job':>18}"
          f"{'ratio':>9}")
    for key in shared:
        ratio = per_job[key] / shared[key] if shared[key] else float("inf")
        print(f"{key:<18}{shared[key]:>24.1f}{per_job[key]:>18.1f}{ratio:>8.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="kernelhub-slurm-bench-"))
    directory.chmod(0o755)
    try:
        with slurm_cluster(directory, cpus=args.jobs) as cluster:
            os.environ["SLURM_CONF"] = str(cluster.conf)
            job_ids = [cluster.run("sbatch", "--parsable", "--output=/dev/null",
                                   "--wrap", "sleep 3600").strip()
                       for _ in range(args.jobs)]
            asyncio.run(compare(cluster, job_ids, args.rounds))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
