"""The `jsonlog` plugin: every event the hub emits, as one JSON line, for log shippers.

Enable it with ``[hub] plugins = jsonlog``. Each request record and each
lifecycle event (login, spawn.ready, route.added, ...; see ``kernel.events``)
becomes a line such as::

    {"time":"2025-01-31T09:12:03.114Z","event":"spawn.ready","user":"alice",...}

The file is opened once at start-up and closed at shutdown. Writing one short
line to a local file is quick, so the ``log`` hook writes it directly; a write
that fails is reported once in the hub's log and never fails a request.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, TextIO

from kernel.api import Boolean, Option, StashKey, Text, TextList, hookimpl

if TYPE_CHECKING:
    from kernel.api import Event, Hub, OptionRegistry

#: Not `log`: that name is the hook below.
logger = logging.getLogger("kernelhub.jsonlog")

SECTION = "jsonlog"
_EVENT_PATTERN = re.compile(r"[\w-]+(\.[\w-]+)*(\.\*)?")


class EventNames(TextList):
    """Event names to keep: ``login``, or ``spawn.*`` for every ``spawn.`` event."""

    name = "a comma-separated list of event names such as login or spawn.*"

    def parse(self, raw: str) -> list[str]:
        names = super().parse(raw)
        for name in names:
            if name == "request":
                raise ValueError(f'expected lifecycle event names (request records are '
                                 f'switched by include_requests), got "{raw}"')
            if not _EVENT_PATTERN.fullmatch(name):
                raise self.fail(name)
        return names


PATH = Option(SECTION, "path", Text(), "",
              "The file to append JSON lines to; empty or - writes them to standard error.")
EVENTS = Option(SECTION, "events", EventNames(), [],
                "The lifecycle events to write, e.g. `login, spawn.*`; empty writes them all.")
INCLUDE_REQUESTS = Option(SECTION, "include_requests", Boolean(), True,
                          "Also write one `request` line for every HTTP request the hub answers.")


@dataclass
class JSONLines:
    """Where the lines go, and which events are kept."""

    #: The open file; None for standard error (looked up at each write, as logging does).
    file: TextIO | None
    events: list[str]
    include_requests: bool
    #: True after a failed write, so that an outage is logged once, not per event.
    failing: bool = False

    def keeps(self, name: str) -> bool:
        if name == "request":
            return self.include_requests
        if not self.events:
            return True
        return any(name == kept or (kept.endswith(".*") and name.startswith(kept[:-1]))
                   for kept in self.events)

    def write(self, event: Event) -> None:
        time = event.time.astimezone(UTC).isoformat(timespec="milliseconds")
        record = {"time": time.replace("+00:00", "Z"), "event": event.name}
        for key, value in event.fields.items():
            record.setdefault(key, value)  # a field never hides the time or the name
        line = json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=str)
        stream = self.file or sys.stderr
        try:
            stream.write(line + "\n")
        except (OSError, ValueError) as e:
            if not self.failing:
                logger.error("Cannot write events to %s (%s); dropping them until writing "
                             "works again", getattr(stream, "name", "the log"), e)
            self.failing = True
        else:
            self.failing = False

    def close(self) -> None:
        if self.file is not None:
            # Line buffering leaves only lines whose write failed, which were reported.
            with contextlib.suppress(OSError):
                self.file.close()


lines_key = StashKey[JSONLines]()


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.declare(PATH, EVENTS, INCLUDE_REQUESTS)


def _open(path: str) -> TextIO | None:
    if path in ("", "-"):
        return None
    return open(path, "a", buffering=1, encoding="utf-8")  # line-buffered: one flush per line


@hookimpl
def hub_startup(hub: Hub) -> None:
    config = hub.config
    try:
        file = _open(config[PATH])
    except OSError as e:
        raise config.error(f"cannot append to {config[PATH]}: {e.strerror}", PATH.section,
                           PATH.name) from None
    hub.stash[lines_key] = JSONLines(file, config[EVENTS], config[INCLUDE_REQUESTS])


@hookimpl
def log(hub: Hub, event: Event) -> None:
    lines = hub.stash.get(lines_key, None)
    if lines is not None and lines.keeps(event.name):
        lines.write(event)


@hookimpl
def hub_shutdown(hub: Hub) -> None:
    # Also called when start-up failed before our hub_startup ran: nothing to close then.
    if lines_key in hub.stash:
        hub.stash[lines_key].close()
        del hub.stash[lines_key]
