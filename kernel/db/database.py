"""Connecting to the database from ``db_url`` and running queries off the event loop.

peewee is synchronous, so every query the hub makes goes through
``Database.run``, which executes it on a small thread pool sized for the
database: one thread for SQLite (a single writer anyway), a few for
PostgreSQL and MySQL. The event loop never waits on a database round trip.

When the database goes away (a restart, a failover, a full disk), a query
fails with ``DatabaseUnavailable``: a 503 with ``Retry-After`` for the
client, never a 500. The worker's broken connection is dropped, so the next
query connects afresh: the hub reconnects by itself once the database is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import peewee as pw
from playhouse.db_url import connect as connect_url

from kernel.db.models import MODELS
from kernel.errors import HubError

T = TypeVar("T")

log = logging.getLogger("kernelhub.db")

#: SQLAlchemy-style driver suffixes JupyterHub configs use, which peewee's URLs don't.
_DRIVER_SUFFIXES = ("+psycopg2", "+psycopg", "+pymysql", "+mysqldb", "+pysqlite")
_DRIVER_PACKAGES = {"postgres": "kernelhub[postgres]", "mysql": "kernelhub[mysql]"}
#: Seconds a client is asked to wait (Retry-After) while the database is unavailable:
#: about what a PostgreSQL or MariaDB restart takes.
RETRY_AFTER_SECONDS = 5
#: Seconds a connection attempt may take before it counts as failed (PostgreSQL's
#: default is to wait for ever on a host that drops packets).
CONNECT_TIMEOUT_SECONDS = 10


class DatabaseError(Exception):
    """The database cannot be used; the message says what to do."""


class DatabaseUnavailable(HubError):
    """503: the database cannot be reached or cannot take the query right now."""

    def __init__(self, reason: str) -> None:
        super().__init__(503, f"The hub's database is unavailable ({reason}); try again "
                              "in a few seconds",
                         headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def redact(url: str) -> str:
    """The URL with any password replaced, for logs and errors."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def in_memory(database: str) -> bool:
    """Whether a SQLite database name is an in-memory database (no file)."""
    return database in ("", ":memory:") or database.startswith("file::memory:")


def open_database(url: str, kwargs: dict[str, Any] | None = None) -> pw.Database:
    """A peewee database for ``url``, tuned per engine; not yet connected."""
    for suffix in _DRIVER_SUFFIXES:
        url = url.replace(suffix + "://", "://", 1)
    scheme = url.split("://", 1)[0]
    kwargs = dict(kwargs or {})
    if scheme.startswith("sqlite"):
        kwargs.setdefault("pragmas", {"journal_mode": "wal", "foreign_keys": 1,
                                      "busy_timeout": 10_000})
    elif scheme.startswith("postgres"):
        kwargs.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    elif scheme.startswith("mysql"):
        kwargs.setdefault("charset", "utf8mb4")
        # Keep microseconds: MySQL's plain DATETIME drops them.
        kwargs.setdefault("field_types", {"DATETIME": "DATETIME(6)"})
    try:
        db = connect_url(url, **kwargs)
    except (ImportError, pw.ImproperlyConfigured) as e:
        extra = next((p for s, p in _DRIVER_PACKAGES.items() if scheme.startswith(s)), None)
        hint = f"; install it with `pip install {extra}`" if extra else ""
        raise DatabaseError(f"no driver for {redact(url)} ({e}){hint}") from None
    except Exception as e:
        raise DatabaseError(f"db_url {redact(url)} is not a database URL peewee knows "
                            f"(sqlite:///FILE, postgresql://..., mysql://...): {e}") from None
    return db


#: What SQLite keeps beside the database file: the WAL and its index.
_SQLITE_COMPANIONS = ("", "-wal", "-shm")


def keep_owner_only(path: Path) -> None:
    """Make the SQLite file ``path`` readable by its owner alone, creating it so if new.

    The file holds login session ids and users' details; SQLite creates the WAL and
    its index with the database file's permissions, so this covers them too. Files
    of an older hub that others could read are tightened, and the log says so.
    """
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for suffix in _SQLITE_COMPANIONS:
        file = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            mode = file.stat().st_mode & 0o777
            if mode & 0o077:
                file.chmod(mode & 0o700)
                log.warning("%s could be read by others (mode %o); it is now %o", file, mode,
                            mode & 0o700)


class Database:
    """The hub's database: bound models and a thread pool for queries."""

    def __init__(self, url: str, kwargs: dict[str, Any] | None = None, *,
                 debug: bool = False) -> None:
        self.url = url
        self.peewee = open_database(url, kwargs)
        self.is_sqlite = isinstance(self.peewee, pw.SqliteDatabase)
        if self.is_sqlite and not in_memory(self.peewee.database):
            keep_owner_only(Path(self.peewee.database))
        self.peewee.bind(MODELS, bind_refs=False, bind_backrefs=False)
        self._workers = 1 if self.is_sqlite else 4
        self._executor = ThreadPoolExecutor(max_workers=self._workers,
                                            thread_name_prefix="kernelhub-db")
        #: Since when queries fail for want of the database (None: they do not).
        self._unavailable_since: float | None = None
        if debug:
            logging.getLogger("peewee").setLevel(logging.DEBUG)

    def bind(self, models: Iterable[type[pw.Model]]) -> None:
        """Bind further models (a plugin's own) to this database."""
        self.peewee.bind(list(models), bind_refs=False, bind_backrefs=False)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on this thread with a connection open (for start-up and the CLI)."""
        try:
            self.peewee.connect(reuse_if_open=True)
        except pw.OperationalError as e:
            raise DatabaseError(f"cannot connect to {redact(self.url)}: {e}") from None
        return fn(*args, **kwargs)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on the database thread pool and await its result;
        DatabaseUnavailable when the database cannot be reached or used."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(self._query, fn, *args,
                                                                  **kwargs))

    def _query(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            result = self.call(fn, *args, **kwargs)
        except DatabaseError as e:
            self._note_unavailable(str(e))
            raise DatabaseUnavailable("cannot connect") from None
        except (pw.OperationalError, pw.InterfaceError) as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            self._drop_connection()
            self._note_unavailable(reason)
            raise DatabaseUnavailable(reason) from None
        if self._unavailable_since is not None:
            log.warning("The database %s answers again, after %.1f s", redact(self.url),
                        time.monotonic() - self._unavailable_since)
            self._unavailable_since = None
        return result

    def _note_unavailable(self, reason: str) -> None:
        if self._unavailable_since is None:
            self._unavailable_since = time.monotonic()
            log.error("The database %s is unavailable (%s): requests that need it get 503 "
                      "with Retry-After until it answers again", redact(self.url), reason)

    def _drop_connection(self) -> None:
        """Forget this thread's connection, so that the next query connects afresh."""
        with contextlib.suppress(Exception):
            self.peewee.close()
        if not self.peewee.is_closed():
            # peewee will not close inside a transaction that failed with the connection;
            # the connection is gone anyway, so its state is reset by hand. That state
            # is private to peewee, so its stubs leave it out.
            with contextlib.suppress(Exception):
                self.peewee._state.conn.close()  # type: ignore[attr-defined]
            self.peewee._state.reset()  # type: ignore[attr-defined]

    def atomic(self) -> Any:
        return self.peewee.atomic()

    def close(self) -> None:
        """Finish queued queries and close every thread's connection."""
        # Connections are per thread: one closing job per worker, held at a
        # barrier so that each worker thread runs exactly one of them.
        barrier = threading.Barrier(self._workers)

        def close_this_thread() -> None:
            if not self.peewee.is_closed():
                self.peewee.close()
            barrier.wait(timeout=10)

        for _ in range(self._workers):
            self._executor.submit(close_this_thread)
        self._executor.shutdown(wait=True)
        if not self.peewee.is_closed():
            self.peewee.close()
