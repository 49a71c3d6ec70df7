"""Slowing down password guessing, without locking out the person whose account it is.

After a few failed logins for one user name (or from one client address),
each further attempt must wait, longer after every failure: 1 s, 2 s, 4 s ...
up to a ceiling. A guessing loop gets a handful of tries a minute; the real
person, who knows the password, gets in as soon as the wait is over, and a
successful login clears that name's record. Records are in memory and
forgotten after an hour of quiet.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

#: A client address may fail more often than one name: a class behind one NAT.
ADDRESS_ALLOWANCE = 4
#: Records untouched this long are dropped.
FORGET_AFTER = 3600.0


@dataclass
class _Record:
    failures: int = 0
    last_failure: float = 0.0


class LoginThrottle:
    def __init__(self, free_attempts: int, max_delay: float) -> None:
        #: Failures allowed before waits begin (0 turns throttling off).
        self.free_attempts = free_attempts
        self.max_delay = max_delay
        self._records: dict[tuple[str, str], _Record] = {}

    def retry_after(self, username: str, client: str, now: float | None = None) -> float:
        """Seconds to wait before this attempt may be checked (0: go ahead)."""
        if not self.free_attempts:
            return 0.0
        now = time.monotonic() if now is None else now
        return max(self._wait(("user", username), self.free_attempts, now),
                   self._wait(("client", client), self.free_attempts * ADDRESS_ALLOWANCE,
                              now))

    def failed(self, username: str, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._forget_old(now)
        for key in (("user", username), ("client", client)):
            record = self._records.setdefault(key, _Record())
            record.failures += 1
            record.last_failure = now

    def succeeded(self, username: str) -> None:
        self._records.pop(("user", username), None)

    def _wait(self, key: tuple[str, str], free: int, now: float) -> float:
        record = self._records.get(key)
        if record is None or record.failures < free or now - record.last_failure > FORGET_AFTER:
            return 0.0
        delay = min(self.max_delay, 2.0 ** (record.failures - free))
        return max(0.0, record.last_failure + delay - now)

    def _forget_old(self, now: float) -> None:
        if len(self._records) < 10_000:
            return
        self._records = {key: record for key, record in self._records.items()
                         if now - record.last_failure < FORGET_AFTER}
