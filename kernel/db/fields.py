"""Column types that behave the same on SQLite, PostgreSQL and MySQL/MariaDB."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import peewee as pw


class JSONField(pw.TextField):
    """JSON stored as text: dicts and lists in, the same out."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, separators=(",", ":"))

    def python_value(self, value: Any) -> Any:
        return None if value is None else json.loads(value)


class UTCDateTimeField(pw.DateTimeField):
    """A timestamp stored as naive UTC, read back timezone-aware.

    MySQL needs ``DATETIME(6)`` to keep microseconds; ``kernel.db.database``
    maps the column type when it connects.
    """

    def db_value(self, value: datetime | None) -> Any:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value: Any) -> datetime | None:
        value = super().python_value(value)
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value
