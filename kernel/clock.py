"""The hub's clock: every timestamp the hub stores or reports is timezone-aware UTC.

It is the machine's wall clock, as JupyterHub's is, so that expiry times and
activity mean the same to the hub, its database, its users' servers and its
operators. Wall clocks jump (NTP steps, a VM resumed, an operator's ``date``):
what must not age by a jump measures elapsed time on the monotonic clock
instead (the idle culler); docs/operations.md says what a jump does.
``shift`` moves this clock alone, which is how tests make it jump.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (what every timestamp in the hub is)."""
    return datetime.now(UTC) + _offset


def shift(by: timedelta) -> None:
    """Move the hub's clock by ``by`` (forward or back) from where it is, as a jump of
    the machine's clock would, without touching the machine's."""
    global _offset
    _offset += by
