"""Databases for the model tests: SQLite, and fresh databases on the real PostgreSQL and MariaDB.

PostgreSQL (127.0.0.1:5432, user postgres) and MariaDB (127.0.0.1:3306, user
root) run on the project's machines; a fresh database is created for each
test module's engine and dropped afterwards. Elsewhere the tests skip with a
reason (and fail in CI, where the servers must be there). Override the
servers with KERNELHUB_TEST_POSTGRES / KERNELHUB_TEST_MYSQL (server URLs
without a database name).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from kernel.db.database import Database
from kernel.testing.infra import skip_or_fail

POSTGRES = os.environ.get("KERNELHUB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
MYSQL = os.environ.get("KERNELHUB_TEST_MYSQL", "mysql://root@127.0.0.1:3306")


def _postgres_database() -> Iterator[str]:
    try:
        import psycopg2
    except ImportError:
        skip_or_fail("psycopg2 is not installed (pip install kernelhub[postgres])")
    name = f"kernelhub_test_{secrets.token_hex(4)}"
    try:
        admin = psycopg2.connect(f"{POSTGRES}/postgres", connect_timeout=3)
    except psycopg2.OperationalError as e:
        skip_or_fail(f"no PostgreSQL server at {POSTGRES}: {e}")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _mysql_database() -> Iterator[str]:
    try:
        import pymysql
    except ImportError:
        skip_or_fail("pymysql is not installed (pip install kernelhub[mysql])")
    from urllib.parse import urlsplit

    server = urlsplit(MYSQL)
    name = f"kernelhub_test_{secrets.token_hex(4)}"
    try:
        admin = pymysql.connect(host=server.hostname, port=server.port or 3306,
                                user=server.username or "root", password=server.password or "",
                                connect_timeout=3, autocommit=True)
    except pymysql.err.OperationalError as e:
        skip_or_fail(f"no MySQL/MariaDB server at {MYSQL}: {e}")
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield f"{MYSQL}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def db_url(request, tmp_path) -> Iterator[str]:
    """A URL of an empty database, on each engine in turn."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.sqlite'}"
    elif request.param == "postgres":
        yield from _postgres_database()
    else:
        yield from _mysql_database()


@pytest.fixture
def database(db_url) -> Iterator[Database]:
    """An empty database, connected and bound to the models (closed afterwards)."""
    db = Database(db_url)
    try:
        yield db
    finally:
        db.close()
