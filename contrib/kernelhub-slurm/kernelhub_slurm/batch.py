"""The batch spawner core: a user's server as a job that a scheduler queues, runs and lists.

``start`` renders the batch script, submits it as the user with a clean
environment, then follows the job through the hub's shared ``JobQueue``
(one listing per round for every job) until it runs and its server reports a
port. ``poll`` reads the latest listing and never calls the scheduler itself.
A back end subclasses ``BatchSpawner`` and sets ``make_scheduler``.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import time
from typing import TYPE_CHECKING, Any

from kernel.api import HubError, Spawner, StashKey
from kernelhub_slurm import options as slurm_options
from kernelhub_slurm.certs import copy_to_home
from kernelhub_slurm.commands import clean_env
from kernelhub_slurm.jobqueue import JobQueue
from kernelhub_slurm.jobs import JobStatus, Phase, Scheduler, SchedulerError
from kernelhub_slurm.script import load_template, render

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from kernel.api import Hub, Server, User

log = logging.getLogger("kernelhub.slurm")

#: The hub's one job queue, shared by all of its spawners.
queue_key = StashKey[JobQueue]()
#: How long ``stop`` waits for the scheduler to report a cancelled job ended.
STOP_WAIT = 60.0


def job_queue(hub: Hub, make_scheduler: type[Scheduler]) -> JobQueue:
    if queue_key not in hub.stash:
        hub.stash[queue_key] = JobQueue(make_scheduler(), hub.config[slurm_options.QUEUE_INTERVAL])
    return hub.stash[queue_key]


class BatchSpawner(Spawner):
    """A server run as a batch job; the scheduler is ``make_scheduler``'s."""

    make_scheduler: type[Scheduler]

    def __init__(self, hub: Hub, user: User, server: Server) -> None:
        super().__init__(hub, user, server)
        config = hub.config
        self.queue = job_queue(hub, self.make_scheduler)
        self.scheduler = self.queue.scheduler
        self.job_id = ""
        self.node = ""
        self.job_port = 0
        #: What the job asks for; the options form may change it (see load_user_options).
        self.job_options: dict[str, Any] = {
            key.name: config[key] for key in (
                slurm_options.PARTITION, slurm_options.ACCOUNT, slurm_options.QOS,
                slurm_options.TIME_LIMIT, slurm_options.MEMORY, slurm_options.CORES,
                slurm_options.GPUS)}
        self.queue_timeout: float = config[slurm_options.QUEUE_TIMEOUT]
        #: start_timeout counts from when the job runs: the queue has queue_timeout.
        self.run_timeout: float = self.start_timeout
        if self.queue_timeout:
            # The hub bounds start() as a whole by start_timeout.
            self.start_timeout = self.run_timeout + self.queue_timeout
        self._events: asyncio.Queue[dict[str, Any] | None] | None = None

    # -- the job -------------------------------------------------------------------

    def run_as(self) -> list[str]:
        """The command prefix that runs scheduler commands as the user."""
        return [part.replace("{username}", self.user.name)
                for part in self.hub.config[slurm_options.RUN_AS]]

    def script_variables(self) -> dict[str, Any]:
        """What the batch script template is filled with (the README lists them)."""
        config = self.hub.config
        env = clean_env(self.user.name, {})
        homedir = env.get("HOME", "/tmp")
        fill = {"{username}": self.user.name, "{homedir}": homedir}
        output = config[slurm_options.OUTPUT]
        for field, value in fill.items():
            output = output.replace(field, value)
        return {
            **self.job_options,
            "job_name": f"kernelhub-{self.user.name}" + (f"-{self.name}" if self.name else ""),
            "username": self.user.name, "homedir": homedir, "output": output,
            "extra": config[slurm_options.EXTRA],
            "prologue": config[slurm_options.PROLOGUE],
            "epilogue": config[slurm_options.EPILOGUE],
            "command": shlex.join(self.get_args()),
            "scheme": self.scheme, "ip": self.ip or "0.0.0.0", "prefix": self.prefix,
            "port_mark": self.port_mark,
        }

    #: What the script puts before the port in the job's comment.
    port_mark = "kernelhub-port="

    def batch_script(self) -> str:
        try:
            template = load_template(self.hub.config[slurm_options.BATCH_SCRIPT_FILE])
            return render(template, self.script_variables())
        except ValueError as e:
            raise HubError(500, str(e)) from None

    # -- the contract -----------------------------------------------------------------

    async def start(self) -> tuple[str, int]:
        self._events = asyncio.Queue()
        try:
            if self.job_id:
                log.info("Following %s's job %s again", self.server.log_name, self.job_id)
            else:
                await self._submit()
            self._watch()
            return await self._wait_until_served()
        finally:
            self._events.put_nowait(None)

    async def _submit(self) -> None:
        script = self.batch_script()
        env = clean_env(self.user.name, self.get_env())
        try:
            self.job_id = await self.scheduler.submit(script, self.run_as(), env)
        except SchedulerError as e:
            raise HubError(500, f"{e} (check the batch script: [slurm] batch_script_file, "
                                "extra and the options chosen)") from None
        log.info("Submitted job %s for %s", self.job_id, self.server.log_name)
        self.hub.emit("slurm.submitted", user=self.user.name, server=self.name, job=self.job_id)
        self._report(10, f"Job {self.job_id} submitted")
        # Recorded at once: a hub restarted while the job is queued adopts it.
        await self.save_state()

    async def _wait_until_served(self) -> tuple[str, int]:
        queued_since = time.monotonic()
        running_since: float | None = None
        seen = ""
        soon = True
        while True:
            await self.queue.next_round(soon=soon)
            soon = False
            status = self.queue.latest(self.job_id)
            if status is None:
                continue
            if status.describe() != seen:
                seen = status.describe()
                self._report_status(status)
            if status.over:
                raise HubError(500, f"Job {self.job_id} ended before its server started: "
                                    f"{status.describe()}; its log is in "
                                    f"{self.script_variables()['output']}")
            if status.phase is Phase.QUEUED:
                waited = time.monotonic() - queued_since
                if self.queue_timeout and waited > self.queue_timeout:
                    await self._cancel()
                    raise HubError(500, f"Job {self.job_id} waited more than "
                                        f"{self.queue_timeout:g} s in the queue (queue_timeout): "
                                        f"{status.describe()}; it was cancelled")
                continue
            self.node = status.node
            if status.port:
                self.job_port = status.port
                await self.save_state()
                return await self.scheduler.node_address(self.node), self.job_port
            running_since = running_since or time.monotonic()
            if time.monotonic() - running_since > self.run_timeout:
                raise HubError(500, f"Job {self.job_id} runs on {self.node} but its server "
                                    f"reported no port within {self.run_timeout:g} s "
                                    "(start_timeout)")

    def _report_status(self, status: JobStatus) -> None:
        if status.phase is Phase.QUEUED:
            self._report(20, f"Job {self.job_id} is queued: {status.describe()}")
        elif status.phase is Phase.RUNNING:
            self._report(50, f"Job {self.job_id} is {status.state} on {status.node}; waiting "
                             "for the server")

    def _report(self, progress: int, message: str) -> None:
        if self._events is not None:
            self._events.put_nowait({"progress": progress, "message": message})

    async def progress(self) -> AsyncIterator[dict[str, Any]]:
        events = self._events
        if events is None:
            return
        while (event := await events.get()) is not None:
            yield event

    async def move_certs(self, files: Any) -> Any:
        """With internal TLS: copies in the user's home, readable by the user alone (the
        job runs as the user, maybe on another node that shares the home)."""
        return await asyncio.to_thread(copy_to_home, files, self.user.name)

    def _watch(self) -> None:
        self.queue.watch(self.job_id, self._job_ended)

    def _job_ended(self, status: JobStatus) -> None:
        log.info("Job %s of %s ended: %s", status.job_id, self.server.log_name,
                 status.describe())
        # The listing is shared: tell the hub now rather than at this server's next poll.
        self.hub.lifecycle.poll_now(self.server)

    async def poll(self) -> int | None:
        if not self.job_id:
            return 0
        self._watch()
        status = await self.queue.status(self.job_id)
        if status is None or status.over:
            return 0 if status is not None and status.state == "COMPLETED" else 1
        return None

    async def stop(self, now: bool = False) -> None:
        if not self.job_id:
            return
        await self._cancel()
        self._watch()
        try:
            async with asyncio.timeout(STOP_WAIT):
                while (status := self.queue.latest(self.job_id)) is None \
                        or status.phase is not Phase.ENDED:
                    await self.queue.next_round(soon=True)
        except TimeoutError:
            log.warning("Job %s of %s was cancelled but still runs after %g s; check the "
                        "node", self.job_id, self.server.log_name, STOP_WAIT)

    async def _cancel(self) -> None:
        await self.scheduler.cancel(self.job_id, self.run_as(), clean_env(self.user.name, {}))
        log.info("Cancelled job %s of %s", self.job_id, self.server.log_name)

    def get_state(self) -> dict[str, Any]:
        if not self.job_id:
            return {}
        return {"job_id": self.job_id, "node": self.node, "port": self.job_port}

    def load_state(self, state: dict[str, Any]) -> None:
        self.job_id = str(state.get("job_id", ""))
        self.node = state.get("node", "")
        self.job_port = int(state.get("port", 0))

    def clear_state(self) -> None:
        if self.job_id:
            self.queue.forget(self.job_id)
        self.job_id = ""
        self.node = ""
        self.job_port = 0
