"""One queue listing per interval for all of the hub's jobs, shared by every spawner.

batchspawner runs one ``squeue`` per server per poll; with 1,000 servers
that is 1,000 calls to slurmctld every interval. Here the hub's spawners
register their jobs with one ``JobQueue``, which lists them all with a single
call every ``queue_interval`` seconds; spawners read the latest listing, and a
job that ended is reported at once through its ``on_end`` callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from kernelhub_slurm.jobs import JobStatus, Phase, Scheduler, SchedulerError

log = logging.getLogger("kernelhub.slurm")


class JobQueue:
    """The latest status of every watched job, refreshed by one listing per round."""

    def __init__(self, scheduler: Scheduler, interval: float) -> None:
        self.scheduler = scheduler
        self.interval = interval
        #: How many listings this queue has made (one per round, whatever the number of jobs).
        self.rounds = 0
        #: The jobs listed in each round, until they are seen ended.
        self._watched: set[str] = set()
        #: Who to tell when a job's server is gone (once).
        self._on_end: dict[str, Callable[[JobStatus], None]] = {}
        self._latest: dict[str, JobStatus] = {}
        self._task: asyncio.Task[None] | None = None
        self._round_done: asyncio.Future[None] | None = None
        self._wake: asyncio.Event | None = None

    def watch(self, job_id: str, on_end: Callable[[JobStatus], None]) -> None:
        """List ``job_id`` in every round; call ``on_end`` once when it is seen ended.

        Watching a job again is harmless; a job already seen ended stays so."""
        latest = self._latest.get(job_id)
        if latest is not None and latest.phase is Phase.ENDED:
            return
        self._watched.add(job_id)
        if latest is None or not latest.over:
            self._on_end[job_id] = on_end
        self._ensure_running()

    def forget(self, job_id: str) -> None:
        self._watched.discard(job_id)
        self._on_end.pop(job_id, None)
        self._latest.pop(job_id, None)

    def latest(self, job_id: str) -> JobStatus | None:
        """The job as the last round saw it (None before its first round)."""
        return self._latest.get(job_id)

    async def next_round(self, *, soon: bool = False) -> None:
        """Wait until the next listing is done; ``soon``: make it now rather than at the
        next interval (several callers at once still share one listing)."""
        self._ensure_running()
        assert self._round_done is not None and self._wake is not None
        done = self._round_done
        if soon:
            self._wake.set()
        await asyncio.shield(done)

    async def status(self, job_id: str) -> JobStatus | None:
        """The job's latest status, waiting for a listing when none has included it yet
        (None for a job that is not watched)."""
        if job_id not in self._latest and job_id in self._watched:
            await self.next_round(soon=True)
        return self._latest.get(job_id)

    def close(self) -> None:
        """Stop listing (the hub is shutting down); the jobs themselves are left alone."""
        self._watched.clear()
        self._on_end.clear()
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def _ensure_running(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is not None and not self._task.done() and self._task.get_loop() is loop:
            return
        # A new event loop (a test's asyncio.run) needs primitives of its own.
        self._round_done = loop.create_future()
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._run(), name="slurm job queue")

    async def _run(self) -> None:
        assert self._wake is not None
        while self._watched:
            self._wake.clear()
            await self._list_once()
            # Sleep until the interval is over or someone wants a listing now.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
        self._task = None
        self._release_waiters()

    async def _list_once(self) -> None:
        watched = sorted(self._watched)
        began = time.process_time()
        try:
            jobs = await self.scheduler.list_jobs(watched)
        except SchedulerError as e:
            log.warning("Listing %d job(s) failed, trying again in %g s: %s", len(watched),
                        self.interval, e)
            self._release_waiters()
            return
        self.rounds += 1
        for job_id in watched:
            # A job the scheduler forgot ended long ago (MinJobAge): report it as ended.
            status = jobs.get(job_id) or JobStatus(job_id, Phase.ENDED, "GONE",
                                                   "no longer in the queue")
            self._latest[job_id] = status
            if status.phase is Phase.ENDED:
                self._watched.discard(job_id)
            if status.over and job_id in self._on_end:
                self._on_end.pop(job_id)(status)
        log.debug("Listed %d job(s) in %.1f ms of the hub's CPU", len(watched),
                  (time.process_time() - began) * 1000)
        self._release_waiters()

    def _release_waiters(self) -> None:
        done = self._round_done
        if done is not None and not done.done():
            done.set_result(None)
        if self._task is not None:
            self._round_done = self._task.get_loop().create_future()
