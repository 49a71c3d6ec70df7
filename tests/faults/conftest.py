"""Private database servers a fault test may stop and start, never the machine's own.

``private_postgres`` is a PostgreSQL cluster made with initdb; ``private_mariadb``
a MariaDB server made with mariadb-install-db; ``private_database`` is each of
them in turn. Each lives in a folder of its own, on a port of its own, and is
removed after the test.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest

from kernel.testing.hub import free_port, stop_process, wait_until
from kernel.testing.infra import skip_or_fail


class PrivateDatabase(Protocol):
    """What the fault tests do with a private database server."""

    url: str

    def stop(self) -> None:
        """Shut down as an operator's restart does: connections are terminated."""

    def start(self) -> None:
        """Start again on the same port, with the same data."""

    def user_names(self) -> set[str]:
        """The names in the hub's users table, read with the engine's own driver."""


def _service_account(name: str) -> pwd.struct_passwd:
    """The account a database server runs as (a private folder must be theirs)."""
    if os.geteuid() != 0:
        skip_or_fail(f"running a private database server as {name} needs root")
    try:
        return pwd.getpwnam(name)
    except KeyError:
        skip_or_fail(f"no {name} account: install the database server's package")
        raise


def _folder_for(account: pwd.struct_passwd, prefix: str) -> Path:
    # Not under pytest's tmp_path: its parents are private to root.
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    os.chown(folder, account.pw_uid, account.pw_gid)
    return folder


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
        """A fast shutdown, as an operator's restart does: connections are terminated, and
        a checkpoint written (which can take seconds on a busy disk)."""
        self.ctl("-m", "fast", "stop")

    def crash(self) -> None:
        """An immediate shutdown, as a crash: at once, recovered from the WAL at start."""
        self.ctl("-m", "immediate", "stop")

    def user_names(self) -> set[str]:
        import psycopg2

        with psycopg2.connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT name FROM users")
            return {name for (name,) in cursor.fetchall()}

    def as_postgres(self, *command: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True,
                       capture_output=True, timeout=120)


@dataclass
class MariaDBServer:
    """mariadbd on a data folder of its own, on its own port, run as ``mysql``."""

    folder: Path
    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/kernelhub"

    def start(self) -> None:
        log = open(self.folder / "log", "ab")  # noqa: SIM115 - the server keeps it
        self.process = subprocess.Popen(
            ["mariadbd", "--no-defaults", "--user=mysql", f"--datadir={self.folder / 'data'}",
             "--bind-address=127.0.0.1", f"--port={self.port}",
             f"--socket={self.folder / 'sock'}", "--skip-name-resolve"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_until(self.connect, 60, what="the private MariaDB answering",
                   log=self.folder / "log")

    def stop(self) -> None:
        """SIGTERM: a normal shutdown, which closes every connection."""
        if self.process is not None:
            stop_process(self.process, timeout=60)

    def user_names(self) -> set[str]:
        with self.connect("kernelhub") as connection, connection.cursor() as cursor:
            cursor.execute("SELECT name FROM users")
            return {name for (name,) in cursor.fetchall()}

    def connect(self, database: str | None = None) -> Any:
        """A pymysql connection as root; OSError while the server does not answer."""
        import pymysql

        try:
            return pymysql.connect(host="127.0.0.1", port=self.port, user="root",
                                   database=database)
        except pymysql.err.OperationalError as e:
            raise OSError(str(e)) from None


@pytest.fixture
def private_postgres() -> Iterator[PostgresCluster]:
    """A running PostgreSQL cluster of the test's own."""
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdb:
        skip_or_fail("no initdb under /usr/lib/postgresql: install the postgresql package")
    folder = _folder_for(_service_account("postgres"), "kernelhub-pg-")
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


@pytest.fixture
def private_mariadb() -> Iterator[MariaDBServer]:
    """A running MariaDB server of the test's own, root without a password on TCP."""
    if not (shutil.which("mariadbd") and shutil.which("mariadb-install-db")):
        skip_or_fail("no mariadbd: apt-get install --no-install-recommends mariadb-server")
    try:
        import pymysql  # noqa: F401 - the tests read the users table with it
    except ImportError:
        skip_or_fail("pymysql is not installed (pip install kernelhub[mysql])")
    folder = _folder_for(_service_account("mysql"), "kernelhub-mariadb-")
    server = MariaDBServer(folder, free_port())
    try:
        subprocess.run(["mariadb-install-db", "--user=mysql", f"--datadir={folder / 'data'}",
                        "--auth-root-authentication-method=normal", "--skip-test-db"],
                       check=True, capture_output=True, timeout=120)
        server.start()
        with server.connect() as connection, connection.cursor() as cursor:
            cursor.execute("CREATE DATABASE kernelhub")
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.process.kill()
            server.process.wait()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["postgresql", "mariadb"])
def private_database(request: pytest.FixtureRequest) -> PrivateDatabase:
    """Each private database server in turn."""
    fixture = "private_postgres" if request.param == "postgresql" else "private_mariadb"
    return request.getfixturevalue(fixture)
