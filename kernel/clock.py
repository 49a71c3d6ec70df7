"""The hub's clock: every timestamp the hub stores or reports is timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (what every timestamp in the hub is)."""
    return datetime.now(UTC)
