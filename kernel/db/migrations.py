"""The schema's history: one migration per version after the first.

Version 1 is the schema kernelhub started with; a new database is created
directly at ``SCHEMA_VERSION`` from ``kernel.db.models``. When a model
changes, add a ``Migration`` here that takes a database from the previous
version to the new one with ``playhouse.migrate`` operations (never by
importing the current models, which will keep changing), and a dump of a
database at the old version under ``tests/data/`` for the upgrade test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import peewee as pw


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[pw.Database], None]


MIGRATIONS: list[Migration] = []

SCHEMA_VERSION = 1 + len(MIGRATIONS)
