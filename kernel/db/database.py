"""Connecting to the database from ``db_url`` and running queries off the event loop.

peewee is synchronous, so every query the hub makes goes through
``Database.run``, which executes it on a small thread pool sized for the
database: one thread for SQLite (a single writer anyway), a few for
PostgreSQL and MySQL. The event loop never waits on a database round trip.
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


class DatabaseError(Exception):
    """The database cannot be used; the message says what to do."""


#: How long clients are told to wait when the database is unavailable (Retry-After).
RETRY_AFTER_SECONDS = 5


class DatabaseUnavailable(HubError):
    """The database cannot be reached or written right now: a 503 with Retry-After.

    It restarts, its disk is full, a lock is held too long. The request changed
    nothing; the same request may succeed in a few seconds.
    """

    def __init__(self) -> None:
        super().__init__(503, "The hub's database is unavailable right now; try again in a "
                              "few seconds", headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


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
        self._outage = _Outage(redact(url))
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
        """Run ``fn`` on the database thread pool and await its result.

        Raises ``DatabaseUnavailable`` (a 503) when the database cannot be reached
        or written; the next call connects again.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(self._serve, fn, *args,
                                                                  **kwargs))

    def _serve(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        # A connection that sat idle may have been dropped by a database that restarted
        # meanwhile: then once more on a new one before telling anyone.
        reused = not self.peewee.is_closed() and not self._outage.failing
        error: Exception | None = None
        for _ in range(2 if reused else 1):
            try:
                self.peewee.connect(reuse_if_open=True)
                result = fn(*args, **kwargs)
            except _UNAVAILABLE as e:
                self._drop_connection()
                error = e
                continue
            self._outage.succeeded()
            return result
        assert error is not None
        self._outage.failed(error)
        raise DatabaseUnavailable() from error

    def _drop_connection(self) -> None:
        """Forget this thread's connection, broken or not, so the next call makes one."""
        try:
            self.peewee.close()
        except Exception:  # a broken connection may fail to close too
            self.peewee._state.reset()

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


#: What peewee raises when the database cannot be reached or written now (as opposed to
#: a query it refuses, such as an IntegrityError).
_UNAVAILABLE = (pw.OperationalError, pw.InterfaceError)


class _Outage:
    """Tells the log when the database stops answering and when it is back, once each."""

    #: While the database fails, how often the log repeats that it still does.
    REMIND_SECONDS = 30.0

    def __init__(self, where: str) -> None:
        self.where = where
        self.failing = False
        self.since = 0.0
        self.reminded = 0.0
        self.lock = threading.Lock()

    def failed(self, error: Exception) -> None:
        with self.lock:
            now = time.monotonic()
            if not self.failing:
                self.failing, self.since, self.reminded = True, now, now
                log.error("The database %s is unavailable (%s); requests that need it get "
                          "503 until it is back", self.where, str(error).strip())
            elif now - self.reminded >= self.REMIND_SECONDS:
                self.reminded = now
                log.error("The database %s is still unavailable after %.0f s (%s)",
                          self.where, now - self.since, str(error).strip())

    def succeeded(self) -> None:
        if not self.failing:
            return
        with self.lock:
            if self.failing:
                self.failing = False
                log.warning("The database %s is available again after %.1f s", self.where,
                            time.monotonic() - self.since)
