"""The ``[slurm]`` options of hub.ini, as typed keys."""

from __future__ import annotations

from typing import Any

from kernel.api import Boolean, Command, Integer, Number, Option, OptionType, Text

SECTION = "slurm"


class Directives(OptionType[list[str]]):
    """Extra sbatch options, one a line, without ``#SBATCH`` (hub.ini reads ``#`` as a comment)."""

    name = "sbatch options, one a line, such as --constraint=haswell"

    def parse(self, raw: str) -> list[str]:
        lines = [line.strip() for line in raw.splitlines() if line.strip()]
        for line in lines:
            if not line.startswith("-"):
                raise ValueError(f'expected sbatch options such as --constraint=haswell, one '
                                 f'a line and without #SBATCH, got "{line}"')
        return lines

    def format(self, value: Any) -> str:
        return "\n".join(value)


BATCH_SCRIPT_FILE = Option(
    SECTION, "batch_script_file", Text(), "",
    "A jinja2 batch script template to use instead of the built-in one (see the package's "
    "README for its variables); a file, because hub.ini reads `#` as a comment.")
PARTITION = Option(SECTION, "partition", Text(), "",
                   "The partition jobs go to unless the user chooses one; empty: Slurm's "
                   "default partition.")
ACCOUNT = Option(SECTION, "account", Text(), "", "The account jobs are charged to (--account).")
QOS = Option(SECTION, "qos", Text(), "", "The quality of service of the jobs (--qos).")
TIME_LIMIT = Option(SECTION, "time_limit", Text(), "",
                    "The jobs' time limit, in Slurm's format such as 8:00:00 (--time).")
MEMORY = Option(SECTION, "memory", Text(), "", "Memory per job, such as 4G (--mem).")
CORES = Option(SECTION, "cores", Integer(minimum=0), 0,
               "CPUs per job (--cpus-per-task); 0: Slurm's default.")
GPUS = Option(SECTION, "gpus", Text(), "", "GPUs per job, such as 1 or a100:1 (--gpus).")
EXTRA = Option(SECTION, "extra", Directives(), [],
               "Further sbatch options, one a line, without #SBATCH (--constraint=haswell).")
PROLOGUE = Option(SECTION, "prologue", Text(), "",
                  "Shell lines the job runs before the server (module load, source a venv).")
EPILOGUE = Option(SECTION, "epilogue", Text(), "",
                  "Shell lines the job runs after the server exits.")
OUTPUT = Option(SECTION, "output", Text(), "{homedir}/kernelhub-slurm-%j.log",
                "The job's log file (--output); {homedir} and {username} are filled in, "
                "%j is the job id.")
RUN_AS = Option(SECTION, "run_as", Command(), ["runuser", "-u", "{username}", "--"],
                "The command prefix that runs sbatch and scancel as the user, with a clean "
                "environment; empty runs them as the hub's account (add --uid to extra where "
                "the site allows a service account to submit for users).")
QUEUE_INTERVAL = Option(SECTION, "queue_interval", Number(minimum=0.1), 5.0,
                        "Seconds between the hub's squeue calls: one call lists every job of "
                        "the hub, and a job that ended is noticed within this time.")
QUEUE_TIMEOUT = Option(SECTION, "queue_timeout", Number(minimum=0), 300.0,
                       "Seconds a job may wait in the queue before the spawn fails and the job "
                       "is cancelled; start_timeout counts from when the job runs. 0: no limit.")
OFFER_PARTITIONS = Option(SECTION, "offer_partitions", Boolean(), True,
                          "Let users choose a partition (and cores, memory, time) in the options "
                          "form, from the partitions sinfo lists.")

ALL = (BATCH_SCRIPT_FILE, PARTITION, ACCOUNT, QOS, TIME_LIMIT, MEMORY, CORES, GPUS, EXTRA,
       PROLOGUE, EPILOGUE, OUTPUT, RUN_AS, QUEUE_INTERVAL, QUEUE_TIMEOUT, OFFER_PARTITIONS)
