"""Opening a JupyterHub database read-only, whatever its engine, and reading its rows.

JupyterHub's URLs are SQLAlchemy's (``sqlite:///jupyterhub.sqlite``,
``postgresql+psycopg2://…``, ``mysql+pymysql://…``); the tables are read
with the engines' plain DB-API drivers, in a read-only session (SQLite
through a ``mode=ro`` URI), so the source is never changed. Rows come back
as dicts with timestamps made timezone-aware UTC (JupyterHub stores naive
UTC) and JSON columns decoded.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

#: Columns JupyterHub keeps as JSON text.
JSON_COLUMNS = frozenset({"properties", "scopes", "state", "user_options", "info",
                          "oauth_client_allowed_scopes", "allowed_scopes", "user_info"})
#: Columns JupyterHub keeps as naive UTC timestamps.
TIME_COLUMNS = frozenset({"created", "created_at", "last_activity", "expires_at", "started",
                          "last_exchanged_at"})


class SourceError(Exception):
    """The JupyterHub database cannot be read; the message says what to do."""


class Cursor(Protocol):
    description: Any

    def execute(self, sql: str) -> Any: ...

    def fetchall(self) -> list[tuple[Any, ...]]: ...


class JupyterHubDatabase:
    """Read-only access to the tables of one JupyterHub database."""

    def __init__(self, cursor: Cursor, tables: set[str]) -> None:
        self._cursor = cursor
        self.tables = tables
        if "alembic_version" not in tables or "users" not in tables:
            raise SourceError("this is not a JupyterHub database (no alembic_version and "
                              "users tables); give the db_url of jupyterhub_config.py")
        if "shares" not in tables:
            raise SourceError("this JupyterHub database is older than 5.0: upgrade it first "
                              "with `jupyterhub upgrade-db` (back it up before)")

    @property
    def revision(self) -> str:
        return str(self.rows("SELECT version_num FROM alembic_version")[0]["version_num"])

    def rows(self, sql: str) -> list[dict[str, Any]]:
        self._cursor.execute(sql)
        names = [column[0] for column in self._cursor.description]
        return [{name: _python_value(name, value) for name, value in zip(names, row,
                                                                         strict=True)}
                for row in self._cursor.fetchall()]


def _python_value(column: str, value: Any) -> Any:
    if value is None:
        return None
    if column in JSON_COLUMNS and isinstance(value, str):
        return json.loads(value)
    if column in TIME_COLUMNS:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


@contextmanager
def open_read_only(url: str) -> Iterator[JupyterHubDatabase]:
    """The JupyterHub database at ``url`` (SQLAlchemy form), opened read-only."""
    scheme = url.split("://", 1)[0].split("+", 1)[0]
    opener = {"sqlite": _sqlite, "postgresql": _postgresql, "postgres": _postgresql,
              "mysql": _mysql, "mariadb": _mysql}.get(scheme)
    if opener is None:
        raise SourceError(f"{scheme}: not a database JupyterHub uses; give a sqlite:///FILE, "
                          "postgresql://… or mysql://… URL")
    connection, tables = opener(url)
    try:
        yield JupyterHubDatabase(connection.cursor(), tables)
    finally:
        connection.close()


def _sqlite(url: str) -> tuple[Any, set[str]]:
    path = Path(url.split("://", 1)[1].removeprefix("/"))
    if not path.is_file():
        raise SourceError(f"{path}: no such file (sqlite:///jupyterhub.sqlite is relative to "
                          "here, sqlite:////srv/jupyterhub.sqlite absolute)")
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    names = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return connection, {name for (name,) in names}


def _postgresql(url: str) -> tuple[Any, set[str]]:
    try:
        import psycopg2
    except ImportError:
        raise SourceError("reading PostgreSQL needs psycopg2: "
                          "`pip install kernelhub[postgres]`") from None
    try:
        connection = psycopg2.connect(url.replace("+psycopg2://", "://", 1))
    except psycopg2.Error as e:
        raise SourceError(f"cannot connect: {e}".strip()) from None
    connection.set_session(readonly=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return connection, {name for (name,) in cursor.fetchall()}


def _mysql(url: str) -> tuple[Any, set[str]]:
    try:
        import pymysql
    except ImportError:
        raise SourceError("reading MySQL/MariaDB needs PyMySQL: "
                          "`pip install kernelhub[mysql]`") from None
    parts = urlsplit(url)
    try:
        connection = pymysql.connect(
            host=parts.hostname or "localhost", port=parts.port or 3306,
            user=unquote(parts.username or ""), password=unquote(parts.password or ""),
            database=parts.path.lstrip("/"), charset="utf8mb4")
    except pymysql.Error as e:
        raise SourceError(f"cannot connect: {e}") from None
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION TRANSACTION READ ONLY")
        cursor.execute("SHOW TABLES")
        return connection, {name for (name,) in cursor.fetchall()}
