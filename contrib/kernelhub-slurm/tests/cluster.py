"""A real single-node Slurm cluster for tests: munged, slurmctld and slurmd on a private slurm.conf.

    with slurm_cluster(tmp_path) as cluster:
        os.environ["SLURM_CONF"] = str(cluster.conf)
        subprocess.run(["sbatch", ...], env=cluster.env)

The node is this machine (``hostname -s``, at 127.0.0.1) with two CPUs in the
partitions ``debug`` (the default) and ``short`` (2 hours at most). Needs root
and Debian's ``slurm-wlm`` and ``munge``; skips (fails under CI=true) without them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kernel.testing.hub import free_port, wait_until
from kernel.testing.infra import skip_or_fail

MUNGE_SOCKET = Path("/run/munge/munge.socket.2")
PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo", "sdiag")
PARTITION = "debug"
#: A second partition on the same node, with a time limit, for the options form.
LIMITED_PARTITION = "short"


@dataclass
class SlurmCluster:
    """A running cluster: its configuration file and the node's name."""

    directory: Path
    conf: Path
    node: str

    @property
    def env(self) -> dict[str, str]:
        """An environment whose Slurm commands talk to this cluster."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def run(self, *args: str, check: bool = True) -> str:
        """A Slurm command's output, as root."""
        done = subprocess.run(args, env=self.env, capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def jobs(self, *fields: str) -> list[str]:
        """The active jobs (pending, running), one line per job in squeue's ``-o`` format."""
        return self.run("squeue", "-h", "-o", "|".join(fields or ("%i",))).split()

    def sdiag_count(self, request: str) -> int:
        """How many times slurmctld served ``request`` (e.g. REQUEST_JOB_INFO) since reset."""
        for line in self.run("sdiag").splitlines():
            if line.strip().startswith(request):
                return int(line.split("count:")[1].split()[0])
        return 0

    def cancel_all(self) -> None:
        """Cancel every job, of every user and partition."""
        if jobs := self.jobs():
            self.run("scancel", *jobs, check=False)

    def set_partition(self, state: str) -> None:
        self.run("scontrol", "update", f"PartitionName={PARTITION}", f"State={state}")


def _missing_programs() -> list[str]:
    return [name for name in PROGRAMS if shutil.which(name) is None
            and not Path("/usr/sbin", name).exists()]


@contextmanager
def _munged() -> Iterator[None]:
    """munged, started here unless one already runs."""
    running = subprocess.run(["munge", "-n"], capture_output=True, check=False).returncode == 0
    if MUNGE_SOCKET.exists() and running:
        yield
        return
    Path("/run/munge").mkdir(exist_ok=True)
    shutil.chown("/run/munge", "munge", "munge")
    if not Path("/etc/munge/munge.key").exists():
        subprocess.run(["runuser", "-u", "munge", "--", "/usr/sbin/mungekey"], check=True)
    subprocess.run(["runuser", "-u", "munge", "--", "/usr/sbin/munged"], check=True)
    pid = int(Path("/run/munge/munged.pid").read_text())
    try:
        yield
    finally:
        os.kill(pid, 15)


def _write_conf(directory: Path, node: str, cpus: int) -> Path:
    for folder in ("state", "spool"):
        (directory / folder).mkdir(parents=True, exist_ok=True)
    conf = directory / "slurm.conf"
    # More CPUs than the machine has (a benchmark's many small jobs): slurmd must believe it.
    overrides = "SlurmdParameters=config_overrides\n" if cpus > 2 else ""
    conf.write_text(f"""\
ClusterName=kernelhub-test
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
AuthType=auth/munge
StateSaveLocation={directory}/state
SlurmdSpoolDir={directory}/spool
SlurmctldPidFile={directory}/slurmctld.pid
SlurmdPidFile={directory}/slurmd.pid
SlurmctldLogFile={directory}/slurmctld.log
SlurmdLogFile={directory}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=300
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
{overrides}NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=2000 State=UNKNOWN
PartitionName={PARTITION} Nodes={node} Default=YES MaxTime=INFINITE State=UP
PartitionName={LIMITED_PARTITION} Nodes={node} MaxTime=2:00:00 State=UP
""")
    return conf


@contextmanager
def slurm_cluster(directory: Path, cpus: int = 2) -> Iterator[SlurmCluster]:
    """Start a one-node cluster in ``directory`` with ``cpus`` CPUs (2: this machine's);
    stopped, its jobs with it, afterwards."""
    if os.geteuid() != 0:
        skip_or_fail("a test Slurm cluster needs root (slurmd runs jobs as their users)")
    if missing := _missing_programs():
        skip_or_fail(f"{', '.join(missing)} not found: `apt-get install -y "
                     "--no-install-recommends slurm-wlm munge`")
    node = socket.gethostname().split(".")[0]
    conf = _write_conf(directory, node, cpus)
    cluster = SlurmCluster(directory, conf, node)
    with _munged():
        daemons = []
        try:
            for daemon in ("slurmctld", "slurmd"):
                subprocess.run([f"/usr/sbin/{daemon}", "-f", str(conf)], env=cluster.env,
                               check=True)
                daemons.append(directory / f"{daemon}.pid")
            wait_until(lambda: "idle" in cluster.run("sinfo", "-h", "-o", "%t", check=False),
                       timeout=60, what="the Slurm node to be idle",
                       log=directory / "slurmctld.log")
            yield cluster
        finally:
            cluster.cancel_all()
            for pid_file in reversed(daemons):
                _stop_daemon(pid_file)


def _stop_daemon(pid_file: Path) -> None:
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.1)
