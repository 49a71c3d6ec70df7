"""Setting up the hub's logging from [hub] log_level, log_format and log_datefmt.

Every value a log call passes as an argument (``log.info("User %s", name)``)
has its control characters escaped before it is formatted: such values are
where request data (a path, a user name, a report body) reaches the log, and
a newline in one would start a line that looks like the hub's own. The
message templates and tracebacks are the hub's own text and stay as written.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

from kernel.config.values import Config

_COLORS = {logging.DEBUG: "\033[34m", logging.INFO: "\033[32m", logging.WARNING: "\033[33m",
           logging.ERROR: "\033[31m", logging.CRITICAL: "\033[35m"}
_END_COLOR = "\033[0m"

#: C0 controls, DEL, C1 controls (NEL among them), and the Unicode line and paragraph
#: separators: whatever a terminal, a log viewer or a log shipper may take as a line break
#: or an escape sequence.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_control(text: str) -> str:
    """``text`` with control characters written as escapes (``\\n``, ``\\x1b``, ``\\u2028``),
    so that a value from a request stays on its log line."""
    return _CONTROL.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100
                                else f"\\u{ord(char):04x}")


class _Escaped:
    """An argument, escaped once it is turned into text by ``%s`` or ``%r`` (whose repr of a
    string has escaped the newlines already: they are not escaped twice)."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __str__(self) -> str:
        return escape_control(str(self.value))

    def __repr__(self) -> str:
        return escape_control(repr(self.value))


def _escaped_argument(value: object) -> object:
    # Numbers keep their type for %d and %.2f; bytes and None show as repr, escaped already.
    if value is None or isinstance(value, int | float | bytes):
        return value
    return _Escaped(value)


def escaped_arguments(args: Any) -> Any:
    """A log record's ``args`` (a tuple, or one mapping for ``%(name)s``) with every value
    from outside the hub's own text escaped."""
    if isinstance(args, Mapping):
        return {key: _escaped_argument(value) for key, value in args.items()}
    if isinstance(args, tuple):
        return tuple(_escaped_argument(value) for value in args)
    return args


class HubFormatter(logging.Formatter):
    """A formatter with JupyterHub's extra fields: %(color)s, %(end_color)s, %(highlevel)s."""

    def __init__(self, fmt: str, datefmt: str, *, color: bool) -> None:
        super().__init__(fmt, datefmt)
        self.color = color

    def format(self, record: logging.LogRecord) -> str:
        if record.args or not isinstance(record.msg, str):
            # A copy: other handlers (a plugin's, pytest's) see the record as it was logged.
            # An object logged as the message (log.warning(error)) is escaped like an argument.
            msg = record.msg if isinstance(record.msg, str) else _Escaped(record.msg)
            record = logging.makeLogRecord({**record.__dict__, "msg": msg,
                                            "args": escaped_arguments(record.args)})
        record.color = _COLORS.get(record.levelno, "") if self.color else ""
        record.end_color = _END_COLOR if self.color else ""
        record.highlevel = (f"[{record.levelname[:1]} {self.formatTime(record, self.datefmt)}"
                            f".{int(record.msecs):03d} {record.name}]")
        return super().format(record)


def configure_logging(config: Config) -> None:
    """Send kernelhub's (and its server's) logs to stderr in the configured format, and
    to [hub] extra_log_file too when it is set (as JupyterHub still does)."""
    options = config.hub
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(HubFormatter(options.log_format, options.log_datefmt,
                                      color=sys.stderr.isatty()))
    handlers: list[logging.Handler] = [handler]
    if options.extra_log_file:
        try:
            log_file = logging.FileHandler(options.extra_log_file, encoding="utf-8")
        except OSError as e:
            raise config.error(f"cannot open the log file: {e.strerror}",
                               "hub", "extra_log_file") from None
        log_file.setFormatter(HubFormatter(options.log_format, options.log_datefmt,
                                           color=False))
        handlers.append(log_file)
    for name in ("kernelhub", "hypercorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(options.log_level)
        logger.propagate = False
    for extra in handlers:
        logging.getLogger("peewee").addHandler(extra)
