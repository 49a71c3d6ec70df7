"""The Slurm spawner: the batch spawner on Slurm, with a form of the cluster's partitions."""

from __future__ import annotations

import html
import re
import subprocess
import time
from typing import Any

from kernel.api import HubError
from kernelhub_slurm import options as slurm_options
from kernelhub_slurm.batch import BatchSpawner
from kernelhub_slurm.slurm import Partition, Slurm, parse_sinfo_partitions

#: What users may type: Slurm's time (minutes, H:MM:SS, D-HH) and memory (4G) formats.
TIME_PATTERN = re.compile(r"\d+(-\d+)?(:\d{1,2}){0,2}")
MEMORY_PATTERN = re.compile(r"\d+[KMGT]?")
#: How long a listing of the partitions is reused.
PARTITIONS_TTL = 60.0
_partitions_cache: tuple[float, list[Partition]] = (0.0, [])


def cluster_partitions() -> list[Partition]:
    """The partitions sinfo lists, reused for a minute.

    Synchronous on purpose: ``load_user_options`` is, and must refuse an
    unknown partition before the spawn starts. One sinfo call takes
    milliseconds, at most once a minute.
    """
    global _partitions_cache
    made, partitions = _partitions_cache
    if time.monotonic() - made > PARTITIONS_TTL or not partitions:
        done = subprocess.run(["sinfo", "--noheader", "--format=%P|%a|%l|%c|%m"],
                              capture_output=True, text=True, timeout=30, check=False)
        if done.returncode != 0:
            raise HubError(503, f"sinfo failed: {done.stderr.strip()}; the cluster's "
                                "partitions are unknown, try again later")
        partitions = parse_sinfo_partitions(done.stdout)
        _partitions_cache = (time.monotonic(), partitions)
    return partitions


class SlurmSpawner(BatchSpawner):
    make_scheduler = Slurm

    async def options_form(self) -> str:
        if not self.hub.config[slurm_options.OFFER_PARTITIONS]:
            return await super().options_form()
        partitions = cluster_partitions()
        chosen = self.job_options["partition"]
        choices = "".join(
            f'<option value="{html.escape(p.name)}"'
            f'{" selected" if p.name == chosen or (not chosen and p.is_default) else ""}>'
            f"{html.escape(p.describe())}</option>" for p in partitions)
        return (
            f'<label for="slurm-partition">Partition</label>'
            f'<select id="slurm-partition" name="partition">{choices}</select>'
            f'<label for="slurm-cores">CPUs</label>'
            f'<input id="slurm-cores" name="cores" type="number" min="1">'
            f'<label for="slurm-memory">Memory (such as 4G)</label>'
            f'<input id="slurm-memory" name="memory">'
            f'<label for="slurm-time">Time limit (such as 2:00:00)</label>'
            f'<input id="slurm-time" name="time_limit">')

    def options_from_form(self, form: dict[str, list[str]]) -> dict[str, Any]:
        return {key: values[0].strip() for key, values in form.items()
                if key in ("partition", "cores", "memory", "time_limit") and values
                and values[0].strip()}

    def load_user_options(self, options: dict[str, Any]) -> None:
        """Take the partition, cores, memory and time limit chosen; refuse what Slurm would."""
        super().load_user_options(options)
        chosen = dict(self.job_options)
        if "partition" in options:
            partitions = {p.name: p for p in cluster_partitions()}
            name = str(options["partition"])
            if name not in partitions:
                raise HubError(400, f"There is no partition {name!r}; choose one of "
                                    f"{', '.join(sorted(partitions))}")
            chosen["partition"] = name
        if "cores" in options:
            cores = str(options["cores"])
            if not cores.isdigit() or int(cores) < 1:
                raise HubError(400, f"CPUs: expected a whole number of at least 1, got {cores!r}")
            partition = next((p for p in cluster_partitions()
                              if p.name == chosen["partition"]
                              or (not chosen["partition"] and p.is_default)), None)
            if partition is not None and int(cores) > partition.cpus:
                raise HubError(400, f"Partition {partition.name} has {partition.cpus} CPUs a "
                                    f"node; ask for {partition.cpus} or fewer")
            chosen["cores"] = int(cores)
        for key, pattern, example in (("memory", MEMORY_PATTERN, "4G"),
                                      ("time_limit", TIME_PATTERN, "2:00:00")):
            if key in options:
                value = str(options[key])
                if not pattern.fullmatch(value):
                    raise HubError(400, f"{key.replace('_', ' ')}: expected a value such as "
                                        f"{example}, got {value!r}")
                chosen[key] = value
        self.job_options = chosen
