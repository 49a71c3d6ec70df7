"""The one error type for a bad hub.ini or plugin selection, formatted for operators."""

from __future__ import annotations


class ConfigError(Exception):
    """A mistake in the configuration, found before anything starts.

    The message names the file, the line when known, the section and key,
    and what is wrong, e.g.
    ``hub.ini:12 [hub] port: expected a whole number, got "eighty"``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        section: str | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.section = section
        self.key = key
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.section:
            where.append(f"[{self.section}] {self.key}" if self.key else f"[{self.section}]")
        prefix = " ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message
