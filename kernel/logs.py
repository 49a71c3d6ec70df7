"""Setting up the hub's logging from [hub] log_level, log_format and log_datefmt."""

from __future__ import annotations

import logging
import sys

from kernel.config.values import Config

_COLORS = {logging.DEBUG: "\033[34m", logging.INFO: "\033[32m", logging.WARNING: "\033[33m",
           logging.ERROR: "\033[31m", logging.CRITICAL: "\033[35m"}
_END_COLOR = "\033[0m"


class HubFormatter(logging.Formatter):
    """A formatter with JupyterHub's extra fields: %(color)s, %(end_color)s, %(highlevel)s."""

    def __init__(self, fmt: str, datefmt: str, *, color: bool) -> None:
        super().__init__(fmt, datefmt)
        self.color = color

    def format(self, record: logging.LogRecord) -> str:
        record.color = _COLORS.get(record.levelno, "") if self.color else ""
        record.end_color = _END_COLOR if self.color else ""
        record.highlevel = (f"[{record.levelname[:1]} {self.formatTime(record, self.datefmt)}"
                            f".{int(record.msecs):03d} {record.name}]")
        return super().format(record)


def configure_logging(config: Config) -> None:
    """Send kernelhub's (and its server's) logs to stderr in the configured format."""
    options = config.hub
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(HubFormatter(options.log_format, options.log_datefmt,
                                      color=sys.stderr.isatty()))
    for name in ("kernelhub", "hypercorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(options.log_level)
        logger.propagate = False
    logging.getLogger("peewee").addHandler(handler)
