"""A private PostgreSQL cluster a fault test may stop and start, never the machine's own."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kernel.testing.hub import free_port
from kernel.testing.infra import skip_or_fail


@dataclass
class PostgresCluster:
    """A cluster made with initdb in its own folder, on its own port, run as ``postgres``."""

    bin: Path
    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *args: str) -> None:
        self.as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"),
                         "-l", str(self.folder / "log"), "-w", *args)

    def start(self) -> None:
        self.ctl("-o", f"-h 127.0.0.1 -p {self.port} -k {self.folder}", "start")

    def stop(self) -> None:
        """A fast shutdown, as an operator's restart does: connections are terminated."""
        self.ctl("-m", "fast", "stop")

    def as_postgres(self, *command: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True,
                       capture_output=True, timeout=120)


@pytest.fixture
def private_postgres() -> Iterator[PostgresCluster]:
    """A running PostgreSQL cluster of the test's own; removed afterwards."""
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdb:
        skip_or_fail("no initdb under /usr/lib/postgresql: install the postgresql package")
    if os.geteuid() != 0:
        skip_or_fail("running a private PostgreSQL cluster as the postgres user needs root")
    try:
        postgres = pwd.getpwnam("postgres")
    except KeyError:
        skip_or_fail("no postgres account: install the postgresql package")
    # Not under pytest's tmp_path: its parents are private to root, and postgres must enter.
    folder = Path(tempfile.mkdtemp(prefix="kernelhub-pg-"))
    os.chown(folder, postgres.pw_uid, postgres.pw_gid)
    cluster = PostgresCluster(Path(initdb[-1]).parent, folder, free_port())
    try:
        cluster.as_postgres(str(cluster.bin / "initdb"), "-D", str(folder / "data"),
                            "-A", "trust", "-U", "postgres")
        cluster.start()
        yield cluster
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--", str(cluster.bin / "pg_ctl"),
                        "-D", str(folder / "data"), "-m", "immediate", "stop"],
                       capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)
